"""Request validation in the contract's order and vocabulary (contract/DECISIONS.md, "Errors"):
authentication 401 → Content-Type 415 → malformed JSON 400 → validation 422, every violation
listed with the contract's `errors[].type`.

FastAPI reads and decodes the body before it resolves any dependency, so out of the box a
malformed body answers before authentication does, and any `application/*+json` is decoded.
ContractRoute defers both: its request class records a decode failure instead of raising, and
a body check appended to the route's dependencies (after the router's authentication) turns a
wrong media type or the recorded failure into 415/400 before FastAPI raises the validation
errors it collected. Those are then mapped from pydantic's error types to the contract's."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from impl_fastapi.errors import (
    CONTRACT_ERROR_TYPES,
    MalformedJSON,
    ProblemResponse,
    UnsupportedMediaType,
    field_error,
    problem_response,
)
from impl_fastapi.idempotency import store_response
from shared.inputs import MalformedDocument, check_document
from shared.problems import MALFORMED_JSON, MAX_BODY_BYTES

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# request.state flags set by ContractRequest: the body was undecodable, or the JSON `null`.
_MALFORMED_KEY = "malformed_json"
_JSON_NULL_KEY = "json_null_body"


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value is not None else None


class ContractRequest(Request):
    async def json(self) -> Any:
        """Record undecodable JSON for the body check instead of answering before auth. So is a
        document the contract calls malformed although Python decodes it: nested deeper than
        32 levels (deeper still, the decoder's own recursion limit), or an unpaired surrogate
        escape, which no UTF-8 encoder and no PostgreSQL takes."""
        try:
            document = await super().json()
            check_document(document)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, MalformedDocument):
            setattr(self.state, _MALFORMED_KEY, True)
            self._json = None  # decoded once, refused once
            return None
        if document is None:  # FastAPI reads a JSON `null` body as "no body" (missing)
            setattr(self.state, _JSON_NULL_KEY, True)
        return document

    async def form(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """Parse only urlencoded forms; anything else is a 415 for the body check.

        Starlette refuses a form of more than 1000 fields with a 400 before validation; the body
        limit (1 MiB) already bounds the work, which is linear, so the form gets its 422."""
        if _media_type(self) != FORM_MEDIA_TYPE:
            return FormData()
        return await super().form(**{**kwargs, "max_fields": MAX_BODY_BYTES})


class BodyCheck:
    """415 for a body in another media type than the route's, 400 for undecodable JSON.

    A route-level dependency, listed after the router's (authentication), so it answers after
    a 401 and before FastAPI raises the validation errors it collected. Routes without a body
    keep `media_type` None and pass."""

    def __init__(self) -> None:
        self.media_type: str | None = None

    async def __call__(self, request: Request) -> None:
        if self.media_type is None:
            return
        actual = _media_type(request)
        if actual is None:
            if await request.body():
                raise UnsupportedMediaType(f"Send the body as {self.media_type}.")
        elif actual != self.media_type:
            raise UnsupportedMediaType(f"Send the body as {self.media_type}, not {actual}.")
        if getattr(request.state, _MALFORMED_KEY, False):
            raise MalformedJSON()


class ContractRoute(APIRoute):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        dependencies: Sequence[params.Depends] | None = None,
        **kwargs: Any,
    ) -> None:
        dependencies = list(dependencies or [])
        check = next(
            (d.dependency for d in dependencies if isinstance(d.dependency, BodyCheck)), None
        )
        if check is None:
            check = BodyCheck()
            dependencies.append(Depends(check))
        super().__init__(path, endpoint, dependencies=dependencies, **kwargs)
        if self.body_field is not None:
            is_form = isinstance(self.body_field.field_info, params.Form)
            check.media_type = FORM_MEDIA_TYPE if is_form else JSON_MEDIA_TYPE

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def contract_handler(request: Request) -> Response:
            response = await handler(ContractRequest(request.scope, request.receive))
            # Serialized, and the request's transaction still open (see idempotency.py).
            await store_response(request, response)
            return response

        return contract_handler


# ---------------------------------------------------------------------------- error types

# pydantic's error types → the contract's closed vocabulary (the matrix in DECISIONS).
_PYDANTIC_TYPES: dict[str, str] = {
    # wrong JSON type
    "string_type": "invalid_type",
    "int_type": "invalid_type",
    "bool_type": "invalid_type",
    "float_type": "invalid_type",
    "uuid_type": "invalid_type",
    "date_type": "invalid_type",
    "list_type": "invalid_type",
    "dict_type": "invalid_type",
    "model_type": "invalid_type",
    "model_attributes_type": "invalid_type",
    "is_instance_of": "invalid_type",
    "none_required": "invalid_type",
    "enum_type": "invalid_type",
    # unparsable strings
    "uuid_version": "uuid_parsing",
    "date_from_datetime_parsing": "date_parsing",
    "date_from_datetime_inexact": "date_parsing",
    "int_from_float": "int_parsing",
    "int_parsing_size": "int_parsing",
    "literal_error": "enum",
}


def _contract_type(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    if kind in ("enum", "literal_error") and not isinstance(error.get("input"), str):
        return "invalid_type"  # `1` for an enum field is a type error, not a bad value
    kind = _PYDANTIC_TYPES.get(kind, kind)
    return kind if kind in CONTRACT_ERROR_TYPES else "invalid_type"


def _contract_error(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = list(error.get("loc") or ("body",))
    return field_error(loc, _contract_type(error), str(error.get("msg", "Invalid value")))


def validation_problem(
    errors: Sequence[Mapping[str, Any]], body_is_json_null: bool = False
) -> ProblemResponse:
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem_response(400, MALFORMED_JSON)
    mapped: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for error in errors:
        item = _contract_error(error)
        if body_is_json_null and item["loc"] == ["body"] and item["type"] == "missing":
            item["type"] = "invalid_type"  # `null` is a body, just not an object
        key = (tuple(item["loc"]), item["type"])
        if key not in seen:  # one error per (place, kind), as the contract compares them
            seen.add(key)
            mapped.append(item)
    return problem_response(422, errors=mapped)


async def _request_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(exc.errors(), getattr(request.state, _JSON_NULL_KEY, False))


def register_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_validation_error)
