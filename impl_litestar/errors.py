"""The one place that bends Litestar's errors to the contract's (contract/DECISIONS.md, "Errors").

- The contract's own exceptions (409, 412, 415, 422 with its `errors` list, 401 with its
  challenge), raised by services, validation and authentication.
- Every HTTPException, the router's own 404/405 included, becomes an RFC 9457 problem via
  `shared.problems` (Litestar's default body is `{status_code, detail, extra}`).
- The database being away (shared.dberrors: unreachable, pool exhausted, statement timeout,
  connection lost) becomes a 503 with `Retry-After: 1`, wherever it happens — authentication's
  user lookup and the commit included (contract/DECISIONS.md, "Unavailable"); so does every
  password-hashing slot staying taken (shared.passwords.PasswordHashingBusy).
- This process holding as many event streams as it may (shared.live.stream.StreamsFull)
  becomes a 503 with `Retry-After: 5`; a bad `Last-Event-ID` (InvalidLastEventId) a 422.
- The assistant's errors before the first byte (shared.assistant.AssistantError): 503 when
  it is not configured, 502/504 for its upstream failing or late.
- Unhandled exceptions become a 500 problem that leaks nothing, logged.

How a request's violations become a 422 (and 415/400 before it) is validation.py's."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    TooManyRequestsException,
)
from litestar.status_codes import (
    HTTP_409_CONFLICT,
    HTTP_412_PRECONDITION_FAILED,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from shared import problems, throttle
from shared.assistant import AssistantError
from shared.dberrors import is_unavailable
from shared.live.stream import SEQ_MAX, InvalidLastEventId, StreamsFull
from shared.passwords import PasswordHashingBusy
from shared.problems import DETAILS, PROBLEM_MEDIA_TYPE, field_error, problem

logger = logging.getLogger("impl_litestar")

Loc = list[str | int]

# ------------------------------------------------------------------ the contract's exceptions


class ConflictException(HTTPException):
    status_code = HTTP_409_CONFLICT


class PreconditionFailedException(HTTPException):
    status_code = HTTP_412_PRECONDITION_FAILED


class UnsupportedMediaTypeException(HTTPException):
    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE


class RequestValidationFailed(HTTPException):
    """422 with the contract's `errors` (already in `shared.problems.field_error` shape)."""

    status_code = HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        super().__init__(detail=detail or DETAILS[HTTP_422_UNPROCESSABLE_ENTITY])
        self.errors = errors


def contract_error(loc: Loc, type_: str, msg: str) -> dict[str, Any]:
    """An `errors[]` item of contract 1.1's types (`invalid_characters`,
    `idempotency_key_reused`), which shared.problems.field_error does not know yet."""
    assert type_ in CONTRACT_11_ERROR_TYPES, type_
    return {"loc": loc, "type": type_, "msg": msg}


CONTRACT_11_ERROR_TYPES = frozenset({"invalid_characters", "idempotency_key_reused"})


def unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": "Bearer"})


def too_many_sign_ins(retry_after: int) -> TooManyRequestsException:
    return TooManyRequestsException(
        detail=throttle.TOO_MANY, headers={"Retry-After": str(max(1, retry_after))}
    )


def invalid_reference(loc: Loc, msg: str) -> dict[str, Any]:
    return field_error(loc, "invalid_reference", msg)


def invalid_last_event_id_errors(exc: InvalidLastEventId) -> list[dict[str, Any]]:
    """shared.live.stream's verdict on Last-Event-ID / last_event_id as the contract's errors."""
    return [field_error(list(loc), kind, _LAST_EVENT_ID_MESSAGES[kind]) for loc, kind in exc.errors]


_LAST_EVENT_ID_MESSAGES = {
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "greater_than_equal": "Input should be greater than or equal to 0",
    "less_than_equal": f"Input should be less than or equal to {SEQ_MAX}",
}


# ------------------------------------------------------------------------- problem responses


def problem_response(
    status: int,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    return Response(
        problem(status, detail, errors),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def service_unavailable(
    detail: str = problems.DATABASE_UNAVAILABLE,
) -> Response[dict[str, Any]]:
    """The one 503 (request errors and /readyz alike): come back in a second."""
    return problem_response(HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "1"})


def _own_detail(exc: HTTPException) -> str | None:
    """The exception's detail when it is a sentence of ours, not Litestar's reason phrase."""
    detail = exc.detail
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = ""
    if not detail or detail == phrase or detail.startswith("Validation failed for"):
        return None
    return detail


def has_trailing_slash(scope: Any) -> bool:
    """`/api/v1/me/`: Litestar's router matches it as `/api/v1/me`; the contract has no such
    path. scope["path"] is already normalised by the router, raw_path is as sent."""
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return len(raw_path) > 1 and raw_path.split(b"?", 1)[0].endswith(b"/")


def _http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        return _unhandled(request, exc)
    if isinstance(exc, MethodNotAllowedException) and has_trailing_slash(request.scope):
        return problem_response(404)
    errors = exc.errors if isinstance(exc, RequestValidationFailed) else None
    return problem_response(exc.status_code, _own_detail(exc), errors, exc.headers)


def _unhandled(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_unavailable(exc):
        logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
        return service_unavailable()
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(HTTP_500_INTERNAL_SERVER_ERROR)


def _invalid_last_event_id(
    _: Request[Any, Any, Any], exc: InvalidLastEventId
) -> Response[dict[str, Any]]:
    return problem_response(HTTP_422_UNPROCESSABLE_ENTITY, errors=invalid_last_event_id_errors(exc))


def _streams_full(_: Request[Any, Any, Any], exc: StreamsFull) -> Response[dict[str, Any]]:
    """This process holds as many event streams as it may: come back in a few seconds (another
    process, or this one once a stream has ended)."""
    return problem_response(
        HTTP_503_SERVICE_UNAVAILABLE,
        problems.STREAMS_FULL,
        headers={"Retry-After": str(exc.retry_after)},
    )


def _assistant_failed(_: Request[Any, Any, Any], exc: AssistantError) -> Response[dict[str, Any]]:
    """The assistant not configured (503, no Retry-After), its upstream failing (502) or late
    (504) before the first byte; shared.assistant has logged why, without the upstream's body."""
    return problem_response(exc.status, exc.detail, headers=exc.headers)


def _password_hashing_busy(
    _: Request[Any, Any, Any], __: PasswordHashingBusy
) -> Response[dict[str, Any]]:
    return service_unavailable(problems.PASSWORD_HASHING_BUSY)


# Litestar's own ValidationException (a subclass of HTTPException) is validation.py's.
exception_handlers: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    PasswordHashingBusy: _password_hashing_busy,
    InvalidLastEventId: _invalid_last_event_id,
    StreamsFull: _streams_full,
    AssistantError: _assistant_failed,
    Exception: _unhandled,
}
