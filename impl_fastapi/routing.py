"""The route class every router uses: it puts the checks of a request body in the contract's
order (authentication 401 → Content-Type 415 → malformed JSON 400 → validation 422).

FastAPI reads and decodes the body before it resolves any dependency, so out of the box a
malformed body answers before authentication does, and any `application/*+json` is decoded.
ContractRoute defers both: its request class records a decode failure instead of raising, and
a body check appended to the route's dependencies (after the router's authentication) turns a
wrong media type or the recorded failure into 415/400 before validation errors are raised."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Depends, Request, Response, params
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from impl_fastapi.errors import JSON_NULL_BODY, MalformedJSON, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_MALFORMED_KEY = "malformed_json"


def _media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value is not None else None


class ContractRequest(Request):
    async def json(self) -> Any:
        """Record undecodable JSON for the body check instead of answering before auth."""
        try:
            document = await super().json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            setattr(self.state, _MALFORMED_KEY, True)
            return None
        if document is None:  # FastAPI reads a JSON `null` body as "no body" (missing)
            setattr(self.state, JSON_NULL_BODY, True)
        return document

    async def form(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """Parse only urlencoded forms; anything else is a 415 for the body check."""
        if _media_type(self) != FORM_MEDIA_TYPE:
            return FormData()
        return await super().form(**kwargs)


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
            return await handler(ContractRequest(request.scope, request.receive))

        return contract_handler
