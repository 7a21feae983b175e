"""Every error the service answers, as SPEC §1's problem+json — the one place where Django and
DRF are bent to the contract.

- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns DRF's exceptions into
  problems: validation 400 → 422 with `errors` typed by the contract's matrix
  (`ERROR_TYPES_BY_CODE`), ParseError → 400, UnsupportedMediaType → 415, 401 with
  `WWW-Authenticate: Bearer`, Django's Http404/PermissionDenied → 404/403.
- `not_found`, `bad_request`, `forbidden`, `server_error` are Django's handler404/400/403/500
  (impl_drf.urls): unknown paths and unhandled exceptions never get Django's HTML pages.
- `problem_response` is for code outside DRF views (middleware, Django handlers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from shared.problems import DETAILS, PROBLEM_MEDIA_TYPE, field_error, problem

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

LOCATIONS = ("path", "query", "header", "body")


class RequestValidationError(exceptions.ValidationError):
    """Violations keyed by location first: `{"path": {...}, "query": {...}, "body": {...}}`.

    A plain ValidationError (a serializer's, or one raised while saving) is about the body."""


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = DETAILS[409]
    default_code = "conflict"


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = DETAILS[413]
    default_code = "content_too_large"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = DETAILS[412]
    default_code = "precondition_failed"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DETAILS[503]
    default_code = "service_unavailable"


class IncorrectCredentials(exceptions.APIException):
    """Wrong email or password at the token endpoint: 401 from a view without authenticators
    (DRF would turn its AuthenticationFailed into a 403 there)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "Incorrect email or password"
    default_code = "incorrect_credentials"


def invalid(
    location: str, field: str | int | None, code: str, message: str
) -> RequestValidationError:
    """One violation at `[location, field]` (or at the location itself when field is None)."""
    error = [ErrorDetail(message, code=code)]
    return RequestValidationError({location: error if field is None else {field: error}})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(DETAILS[404])
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(DETAILS[403])
    if not isinstance(exc, exceptions.APIException):
        return None  # unhandled: Django logs it and answers with server_error below

    headers: dict[str, str] = {}
    errors = None
    if isinstance(exc, exceptions.ValidationError):
        status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
        detail = DETAILS[422]
        errors = list(_field_errors(exc))
    else:
        status_code = exc.status_code
        detail = _detail(exc)
        if status_code == status.HTTP_401_UNAUTHORIZED:
            headers["WWW-Authenticate"] = "Bearer"
    set_rollback()
    return Response(
        problem(status_code, detail, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_MEDIA_TYPE,
    )


def _detail(exc: exceptions.APIException) -> str:
    """Our own sentences; DRF's defaults only where they say something specific."""
    if isinstance(exc, exceptions.ParseError):
        return DETAILS[400]
    if isinstance(
        exc,
        (
            exceptions.UnsupportedMediaType,
            exceptions.MethodNotAllowed,
            exceptions.NotFound,
            exceptions.PermissionDenied,
        ),
    ):
        return DETAILS[exc.status_code]
    if isinstance(exc, exceptions.NotAuthenticated):
        return "Not authenticated"
    return str(exc.detail) if isinstance(exc.detail, str) else DETAILS.get(exc.status_code, "")


def _field_errors(exc: exceptions.ValidationError) -> Iterator[dict[str, Any]]:
    detail = exc.detail
    if isinstance(exc, RequestValidationError):
        for location, sub in detail.items():
            yield from _flatten(sub, [location])
    else:
        yield from _flatten(detail, ["body"])


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


# --------------------------------------------------------------------------- outside DRF


def problem_response(
    status_code: int, detail: str | None = None, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(problem(status_code, detail)),
        status=status_code,
        content_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404)


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(500)
