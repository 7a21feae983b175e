"""Request validation in the contract's order (contract/DECISIONS.md, "Errors"): 415 for a body
in another media type, 400 for malformed JSON, then one 422 listing every violation of path,
query, headers and body — and the table that maps DRF's error codes to the contract's
`errors[].type`.

DRF validates a body inside the handler, after the object lookup, and stops at the first
location; ContractViewSet.initial() (impl_drf.views.base) calls `validate_request` after
authentication and before any permission or lookup, and impl_drf.errors renders the 422 from
`violations()`.

The hostile-input rules (contract/DECISIONS.md, "Validation error types") are applied here, once:
a string with U+0000 anywhere in the body, the form or a documented query parameter is one
`invalid_characters` at its loc instead of whatever else its field would say (shared.inputs);
path ids are canonical UUIDs only; the `Idempotency-Key` header of the creates is checked with
the rest."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.settings import api_settings

from shared import idempotency
from shared.inputs import NUL, nul_locations, parse_uuid, query_nul_locations
from shared.problems import ERROR_TYPES

logger = logging.getLogger(__name__)

# The contract's closed set of errors[].type. shared.problems.ERROR_TYPES predates contract 1.1
# and lacks its two new types (reported; kept here until shared has them).
CONTRACT_ERROR_TYPES = ERROR_TYPES | {"invalid_characters", "idempotency_key_reused"}

# DRF / Django / impl_drf.fields error codes → the contract's errors[].type (DECISIONS.md).
ERROR_TYPES_BY_CODE: dict[str, str] = {
    "required": "missing",  # DRF: field absent
    "missing": "missing",  # empty body
    "null": "invalid_type",  # DRF: null for a non-nullable field
    "invalid_type": "invalid_type",  # impl_drf.fields: wrong JSON type
    "not_a_list": "invalid_type",  # DRF ListField: not an array
    "extra_forbidden": "extra_forbidden",  # impl_drf.fields.StrictSerializer
    "blank": "string_too_short",  # DRF CharField: ""
    "min_length": "string_too_short",  # Django MinLengthValidator
    "max_length": "string_too_long",  # Django MaxLengthValidator
    "pattern_mismatch": "string_pattern_mismatch",  # impl_drf.fields.PatternValidator
    "invalid_choice": "enum",  # DRF ChoiceField
    "uuid_parsing": "uuid_parsing",
    "date_parsing": "date_parsing",
    "int_parsing": "int_parsing",
    "bool_parsing": "bool_parsing",  # impl_drf.fields.BooleanQueryField
    "min_value": "greater_than_equal",  # Django MinValueValidator
    "max_value": "less_than_equal",  # Django MaxValueValidator
    "max_items": "too_long",  # impl_drf.fields.MaxItemsValidator
    "not_unique": "not_unique",
    "invalid_reference": "invalid_reference",
    "invalid_cursor": "invalid_cursor",
}

Loc = list[str | int]


def field_error(loc: Loc, type_: str, msg: str) -> dict[str, Any]:
    """One entry of a 422's `errors`."""
    assert type_ in CONTRACT_ERROR_TYPES, type_
    return {"loc": loc, "type": type_, "msg": msg}


class RequestValidationError(exceptions.ValidationError):
    """The violations of a request, already in the contract's `{loc, type, msg}` form. A plain
    ValidationError (a serializer's, or a service's reference check) is about the body."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("Request validation failed.")
        self.errors = errors


def invalid(location: str, name: str | int, type_: str, message: str) -> RequestValidationError:
    """One violation at `[location, name]`."""
    return RequestValidationError([field_error([location, name], type_, message)])


@dataclass(slots=True)
class ValidRequest:
    path: dict[str, uuid.UUID] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


def validate_request(
    request: Request,
    path: dict[str, Any],
    query_serializer: type[serializers.Serializer] | None,
    body_serializer: type[serializers.Serializer] | None,
    media_type: str,
    *,
    takes_idempotency_key: bool = False,
) -> ValidRequest:
    """The parsed path ids, query, body and Idempotency-Key, or one RequestValidationError with
    every violation (after UnsupportedMediaType / ParseError, which answer alone)."""
    valid = ValidRequest()
    errors: list[dict[str, Any]] = []
    nul_locs: list[Loc] = []

    for name, value in path.items():
        parsed_id = parse_uuid(str(value))
        if parsed_id is None:
            errors.append(
                field_error(["path", name], "uuid_parsing", "Input should be a valid UUID.")
            )
        else:
            valid.path[name] = parsed_id

    if query_serializer is not None:
        params = request.query_params
        serializer = query_serializer(data=params)
        nul_locs += query_nul_locations(
            ((name, value) for name, values in params.lists() for value in values),
            serializer.fields.keys(),
            [name for name, f in serializer.fields.items() if isinstance(f, serializers.ListField)],
        )
        if serializer.is_valid():
            valid.query = serializer.validated_data
        else:
            errors += _flatten(serializer.errors, ["query"])

    if takes_idempotency_key:
        valid.idempotency_key = request.headers.get(idempotency.HEADER)
        if valid.idempotency_key is not None:
            problem = idempotency.key_error(valid.idempotency_key)
            if problem is not None:
                errors.append(field_error(list(idempotency.HEADER_LOC), *problem))

    if body_serializer is not None:
        _check_media_type(request, media_type)
        if not _has_body(request):
            errors.append(field_error(["body"], "missing", "A request body is required."))
        else:
            data = request.data  # parses: 400 for malformed JSON
            nul_locs += _body_nul_locations(data, getattr(body_serializer, "nul_tolerant", ()))
            serializer = body_serializer(data=data)
            if serializer.is_valid():
                valid.body = serializer.validated_data
            else:
                errors += _flatten(serializer.errors, ["body"])

    # An unknown field stays `extra_forbidden` whatever its value holds: the NUL rule replaces
    # the checks of a field's value, not the verdict that the field does not exist.
    unknown = [error["loc"] for error in errors if error["type"] == "extra_forbidden"]
    nul_locs = [loc for loc in nul_locs if not any(loc[: len(u)] == u for u in unknown)]
    if nul_locs:
        errors = [error for error in errors if error["loc"] not in nul_locs]
        errors += [
            field_error(loc, "invalid_characters", "String should not contain U+0000.")
            for loc in nul_locs
        ]
    if errors:
        raise RequestValidationError(errors)
    return valid


def _body_nul_locations(data: Any, tolerant: tuple[str, ...]) -> list[Loc]:
    """U+0000 in a JSON body (any depth) or a form field. A form's credentials may carry it:
    the token endpoint answers those as a failed sign-in (impl_drf.services.auth)."""
    if hasattr(data, "lists"):  # a form (QueryDict)
        return [
            ["body", name]
            for name, values in data.lists()
            if name not in tolerant and any(NUL in value for value in values)
        ]
    return nul_locations(data)


def _check_media_type(request: Request, expected: str) -> None:
    """415 unless the body is in the operation's one media type (parameters such as `charset`
    allowed, `+json` suffixes not); no Content-Type is fine only without a body."""
    content_type = request.content_type.split(";", 1)[0].strip().lower()
    if content_type != expected and (content_type or _has_body(request)):
        raise exceptions.UnsupportedMediaType(content_type)


def _has_body(request: Request) -> bool:
    length = request.META.get("CONTENT_LENGTH") or ""
    return length.isdigit() and int(length) > 0


# --------------------------------------------------------------------------- the 422's errors


def violations(exc: exceptions.ValidationError) -> list[dict[str, Any]]:
    """`errors` of the 422: one `{loc, type, msg}` per violation, typed by ERROR_TYPES_BY_CODE."""
    if isinstance(exc, RequestValidationError):
        return exc.errors
    return list(_flatten(exc.detail, ["body"]))


def _flatten(detail: Any, loc: Loc) -> Iterator[dict[str, Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(
                value, loc if key == api_settings.NON_FIELD_ERRORS_KEY else [*loc, key]
            )
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            # a list of ErrorDetail is several messages for one place; a list of dicts is a
            # nested list serializer's per-item errors
            yield from _flatten(item, [*loc, index] if isinstance(item, dict) else loc)
    else:
        code = getattr(detail, "code", None) or "invalid"
        error_type = ERROR_TYPES_BY_CODE.get(code)
        if error_type is None:
            logger.error("unmapped validation error code %r at %s", code, loc)
            error_type = "invalid_type"
        yield field_error(list(loc), error_type, str(detail))
