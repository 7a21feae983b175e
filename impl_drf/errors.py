"""Every error the service answers, as SPEC §1's problem+json — the one place where Django and
DRF are bent to the contract.

- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns DRF's exceptions into
  problems: validation 400 → 422 with `errors` typed by the contract's matrix
  (impl_drf.validation), ParseError → 400, UnsupportedMediaType → 415, 401 with
  `WWW-Authenticate: Bearer`, Django's Http404/PermissionDenied → 404/403.
- `not_found`, `bad_request`, `forbidden`, `server_error` are Django's handler404/400/403/500
  (impl_drf.urls): unknown paths and unhandled exceptions never get Django's HTML pages.
- `problem_response` is for code outside DRF views (middleware, Django handlers).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from impl_drf.validation import violations
from shared.problems import DETAILS, PROBLEM_MEDIA_TYPE, problem


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
        errors = violations(exc)
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
