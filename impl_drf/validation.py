"""Request validation in the contract's order (contract/DECISIONS.md, "Errors"): 415 for a body
in another media type, 400 for malformed JSON, then one 422 listing every violation of path,
query and body — and the table that maps DRF's error codes to the contract's `errors[].type`.

DRF validates a body inside the handler, after the object lookup, and stops at the first
location; ContractViewSet.initial() (impl_drf.views.base) calls `validate_request` after
authentication and before any permission or lookup, and impl_drf.errors renders the 422 from
`violations()`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

from rest_framework import exceptions, serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.settings import api_settings

from shared.problems import field_error

logger = logging.getLogger(__name__)

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
    "null_characters_not_allowed": "string_pattern_mismatch",  # NUL in a string
    "invalid_choice": "enum",  # DRF ChoiceField
    "uuid_parsing": "uuid_parsing",
    "date_parsing": "date_parsing",
    "int_parsing": "int_parsing",
    "min_value": "greater_than_equal",  # Django MinValueValidator
    "max_value": "less_than_equal",  # Django MaxValueValidator
    "max_items": "too_long",  # impl_drf.fields.MaxItemsValidator
    "not_unique": "not_unique",
    "invalid_reference": "invalid_reference",
    "invalid_cursor": "invalid_cursor",
}


class RequestValidationError(exceptions.ValidationError):
    """Violations keyed by location first: `{"path": {...}, "query": {...}, "body": {...}}`.

    A plain ValidationError (a serializer's, or a service's reference check) is about the
    body."""


def invalid(
    location: str, field: str | int | None, code: str, message: str
) -> RequestValidationError:
    """One violation at `[location, field]` (or at the location itself when field is None)."""
    error = [ErrorDetail(message, code=code)]
    return RequestValidationError({location: error if field is None else {field: error}})


def validate_request(
    request: Request,
    path: dict[str, Any],
    query_serializer: type[serializers.Serializer] | None,
    body_serializer: type[serializers.Serializer] | None,
    media_type: str,
) -> tuple[dict[str, uuid.UUID], dict[str, Any], dict[str, Any]]:
    """The parsed path ids, query and body, or one RequestValidationError with every violation
    (after UnsupportedMediaType / ParseError, which answer alone)."""
    errors: dict[str, Any] = {}
    ids, path_errors = _parse_path_ids(path)
    if path_errors:
        errors["path"] = path_errors

    query: dict[str, Any] = {}
    if query_serializer is not None:
        parsed = query_serializer(data=request.query_params)
        if parsed.is_valid():
            query = parsed.validated_data
        else:
            errors["query"] = parsed.errors

    body: dict[str, Any] = {}
    if body_serializer is not None:
        _check_media_type(request, media_type)
        if not _has_body(request):
            errors["body"] = [ErrorDetail("A request body is required.", code="missing")]
        else:
            parsed = body_serializer(data=request.data)  # parses: 400 for malformed JSON
            if parsed.is_valid():
                body = parsed.validated_data
            else:
                errors["body"] = parsed.errors

    if errors:
        raise RequestValidationError(errors)
    return ids, query, body


def _parse_path_ids(path: dict[str, Any]) -> tuple[dict[str, uuid.UUID], dict[str, Any]]:
    """Every path parameter of the API is a UUID; a malformed one is a 422, not a 404."""
    ids, errors = {}, {}
    for name, value in path.items():
        try:
            ids[name] = uuid.UUID(str(value))
        except ValueError:
            errors[name] = [ErrorDetail("Input should be a valid UUID.", code="uuid_parsing")]
    return ids, errors


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
        return [
            error
            for location, detail in exc.detail.items()
            for error in _flatten(detail, [location])
        ]
    return list(_flatten(exc.detail, ["body"]))


def _flatten(detail: Any, loc: list[str | int]) -> Iterator[dict[str, Any]]:
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
