"""Every error the service answers, as the contract's problem+json (contract/DECISIONS.md,
"Errors") — the one place where Django and DRF are bent to it.

- `exception_handler` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns DRF's exceptions into
  problems: validation 400 → 422 with `errors` typed by the contract's matrix
  (impl_drf.validation), ParseError → 400, UnsupportedMediaType → 415, 401 with
  `WWW-Authenticate: Bearer`, Django's Http404/PermissionDenied → 404/403.
- `integrity_conflicts` turns the unique violations the contract calls conflicts into 409s
  (shared.integrity, by constraint name); any other integrity error stays a 500, logged.
- A database that is away (shared.dberrors.is_unavailable: unreachable, pool exhausted past
  5 s, statement_timeout, connection lost) is a 503 with `Retry-After: 1`, never a 500 — in
  the handler for what DRF views raise, in `unavailable_or_none` for what escapes them. So is
  every password-hashing slot staying taken (shared.passwords.PasswordHashingBusy).
- 429 (DRF's Throttled, from impl_drf.throttling) carries `Retry-After`.
- The assistant's upstream (shared.assistant.AssistantError): 502, 503 without `Retry-After`
  (no LLM_BASE_URL), 504 — each with shared.assistant's problem.
- The live part: a worker holding as many long calls as it may (shared.live.stream.StreamsFull,
  from shared.live.long_calls or the hub) is a 503 with `Retry-After: 5`; a bad `Last-Event-ID`
  / `last_event_id` (shared.live.stream.InvalidLastEventId) is the usual 422.
- `not_found`, `bad_request`, `forbidden`, `server_error` are Django's handler404/400/403/500
  (impl_drf.urls): unknown paths and unhandled exceptions never get Django's HTML pages.
- `problem_response` is for code outside DRF views (middleware, Django handlers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from impl_drf.validation import RequestValidationError, field_error, violations
from shared.assistant import AssistantError
from shared.dberrors import is_unavailable
from shared.integrity import conflict_detail
from shared.live.stream import SEQ_MAX, InvalidLastEventId, StreamsFull
from shared.passwords import PasswordHashingBusy
from shared.problems import (
    ASSISTANT_BUSY,
    BAD_CREDENTIALS,
    DATABASE_UNAVAILABLE,
    DETAILS,
    MALFORMED_JSON,
    NOT_AUTHENTICATED,
    PASSWORD_HASHING_BUSY,
    PROBLEM_MEDIA_TYPE,
    STREAMS_FULL,
    problem,
)
from shared.throttle import TOO_MANY

# A 503 asks the client to come back in a second (contract/DECISIONS.md, "Unavailable").
RETRY_AFTER_UNAVAILABLE = "1"


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


class TooManyStreams(ServiceUnavailable):
    """StreamsFull: this worker serves as many long calls as it may; come back in a few
    seconds (or to another worker)."""

    default_detail = STREAMS_FULL
    default_code = "streams_full"
    retry_after = str(StreamsFull.retry_after)


class TooManyAssistantCalls(TooManyStreams):
    """StreamsFull for an assistant call (it holds a thread too, streamed or not)."""

    default_detail = ASSISTANT_BUSY


class IncorrectCredentials(exceptions.APIException):
    """Wrong email or password at the token endpoint: 401 from a view without authenticators
    (DRF would turn its AuthenticationFailed into a 403 there)."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = BAD_CREDENTIALS
    default_code = "incorrect_credentials"


class Replay(Exception):
    """Not an error: the stored response of an idempotent create, answered instead of running
    the handler again (impl_drf.idempotency)."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    if isinstance(exc, Replay):
        return exc.response
    if isinstance(exc, AssistantError):  # 502/503/504, its own problem and headers
        return Response(
            exc.problem(), status=exc.status, headers=exc.headers, content_type=PROBLEM_MEDIA_TYPE
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(DETAILS[404])
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(DETAILS[403])
    elif isinstance(exc, PasswordHashingBusy):
        exc = ServiceUnavailable(PASSWORD_HASHING_BUSY)
    elif isinstance(exc, StreamsFull):
        exc = TooManyStreams()
    elif isinstance(exc, InvalidLastEventId):
        exc = last_event_id_violations(exc)
    elif not isinstance(exc, exceptions.APIException) and is_unavailable(exc):
        exc = ServiceUnavailable(DATABASE_UNAVAILABLE)
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
        elif isinstance(exc, exceptions.Throttled):
            headers["Retry-After"] = str(max(1, exc.wait or 1))
        elif status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            headers["Retry-After"] = getattr(exc, "retry_after", RETRY_AFTER_UNAVAILABLE)
    set_rollback()
    return Response(
        problem(status_code, detail, errors),
        status=status_code,
        headers=headers,
        content_type=PROBLEM_MEDIA_TYPE,
    )


_LAST_EVENT_ID_MESSAGES = {
    "int_parsing": "Input should be a valid integer.",
    "greater_than_equal": "Input should be greater than or equal to 0.",
    "less_than_equal": f"Input should be less than or equal to {SEQ_MAX}.",
}


def last_event_id_violations(exc: InvalidLastEventId) -> RequestValidationError:
    """The 422 of shared.live.stream.parse_last_event_id's verdict, every bad one listed."""
    return RequestValidationError(
        [field_error(list(loc), type_, _LAST_EVENT_ID_MESSAGES[type_]) for loc, type_ in exc.errors]
    )


def _detail(exc: exceptions.APIException) -> str:
    """Our own sentences (shared.problems) in place of DRF's generic ones ("Not found."); a
    specific one given where the exception was raised (a permission's `message`,
    `NotFound(NO_SUCH_MEMBER)`, our exception classes' defaults) stays."""
    if isinstance(exc, exceptions.ParseError):
        return MALFORMED_JSON
    if isinstance(exc, exceptions.NotAuthenticated):
        return NOT_AUTHENTICATED
    if isinstance(exc, exceptions.Throttled):
        return TOO_MANY
    if isinstance(exc, (exceptions.UnsupportedMediaType, exceptions.MethodNotAllowed)):
        return DETAILS[exc.status_code]
    drf_default = type(exc).__module__ == exceptions.__name__ and str(exc.detail) == str(
        exc.default_detail
    )
    if drf_default or not isinstance(exc.detail, str):
        return DETAILS.get(exc.status_code, "")
    return str(exc.detail)


@contextmanager
def integrity_conflicts() -> Iterator[None]:
    """The writes of the block in a transaction (a savepoint inside a service's transaction);
    a unique violation the contract calls a conflict (shared.integrity, by constraint name) is
    a 409 with its sentence, any other integrity error propagates: a defect, a 500, logged."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        detail = conflict_detail(exc)
        if detail is None:
            raise
        raise Conflict(detail) from None


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


def unavailable_or_none(exception: Exception) -> HttpResponse | None:
    """The 503 for a database error that escaped a DRF view (e.g. while storing an idempotent
    response at the end of the request), else None."""
    if is_unavailable(exception):
        return problem_response(
            503, DATABASE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_UNAVAILABLE}
        )
    return None


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "The request could not be understood.")


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404)


def server_error(request: HttpRequest) -> HttpResponse:
    return problem_response(500)
