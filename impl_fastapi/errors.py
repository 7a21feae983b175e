"""Every error the service answers, as RFC 9457 problem details (`application/problem+json`).

This is the one place where FastAPI's default error answers ({"detail": ...}) are bent to the
contract: domain exceptions raised by services, shared.passwords' PasswordHashingBusy (503),
shared.live's StreamsFull (503 with Retry-After: 5), shared.assistant's upstream errors
(502/503/504), Starlette's router errors (404/405, with every method of the path in `Allow`),
and anything unexpected (500, a middleware). Request validation (415/400/422 and the error-type
matrix) is validation.py's."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.assistant import AssistantError
from shared.dberrors import is_unavailable
from shared.live.stream import StreamsFull
from shared.passwords import PasswordHashingBusy
from shared.problems import (
    DATABASE_UNAVAILABLE,
    ERROR_TYPES,
    INVALID_CURSOR,
    INVALID_TOKEN,
    MALFORMED_JSON,
    PASSWORD_HASHING_BUSY,
    PROBLEM_MEDIA_TYPE,
    STREAMS_FULL,
    problem,
)

logger = logging.getLogger("impl_fastapi")

# The closed vocabulary of `errors[].type` in contract 1.1. shared.problems.ERROR_TYPES still
# lacks the two types 1.1 added; until it has them, they are added here.
CONTRACT_ERROR_TYPES = ERROR_TYPES | {"invalid_characters", "idempotency_key_reused"}


def field_error(loc: Sequence[str | int], type_: str, msg: str) -> dict[str, Any]:
    """One entry of a 422's `errors` (shared.problems.field_error, with the 1.1 types)."""
    assert type_ in CONTRACT_ERROR_TYPES, type_
    return {"loc": list(loc), "type": type_, "msg": msg}


# ---------------------------------------------------------------------------- domain errors


class ProblemError(Exception):
    """An expected failure with its HTTP status; services raise these, never HTTP responses."""

    status = 500
    detail: str | None = None
    headers: Mapping[str, str] | None = None

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail or "")
        if detail is not None:
            self.detail = detail

    def errors(self) -> list[dict[str, Any]] | None:
        return None


class MalformedJSON(ProblemError):
    status = 400
    detail = MALFORMED_JSON


class Unauthorized(ProblemError):
    status = 401
    detail = INVALID_TOKEN
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(ProblemError):
    status = 403


class NotFound(ProblemError):
    status = 404


class Conflict(ProblemError):
    status = 409


class PreconditionFailed(ProblemError):
    status = 412


class UnsupportedMediaType(ProblemError):
    status = 415


class TooManyRequests(ProblemError):
    status = 429

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after_seconds))}


class ServiceUnavailable(ProblemError):
    """The database is not there for us (DECISIONS "Unavailable"), or every password-hashing
    slot stayed taken (DECISIONS "Secrets and passwords"): try again in a second."""

    status = 503
    detail = DATABASE_UNAVAILABLE
    headers = {"Retry-After": "1"}


class FieldErrors(ProblemError):
    """422 for checks that need the database (references, cursors), after schema validation."""

    status = 422

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        super().__init__(detail)
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


class InvalidReference(FieldErrors):
    """Ids in the body that name nothing the caller may use there: (loc, sentence) each."""

    def __init__(self, references: Iterable[tuple[Sequence[str | int], str]]) -> None:
        super().__init__(
            [field_error(list(loc), "invalid_reference", msg) for loc, msg in references]
        )


class InvalidCursor(FieldErrors):
    def __init__(self) -> None:
        super().__init__([field_error(["query", "cursor"], "invalid_cursor", INVALID_CURSOR)])


# ---------------------------------------------------------------------------- responses


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    status: int,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    return ProblemResponse(
        problem(status, detail, errors),
        status_code=status,
        headers=dict(headers) if headers else None,
    )


# ---------------------------------------------------------------------------- handlers


async def _problem_error(_: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, ProblemError)
    return _problem_of(exc)


async def _streams_full(_: Request, exc: Exception) -> ProblemResponse:
    """The process holds as many event streams as it may (shared.live): come back later."""
    assert isinstance(exc, StreamsFull)
    return problem_response(503, STREAMS_FULL, headers={"Retry-After": str(exc.retry_after)})


async def _assistant_error(_: Request, exc: Exception) -> ProblemResponse:
    """The assistant's upstream, before the first byte: 502 failed, 504 too slow, 503 not
    configured (shared.assistant decides which, and logs why)."""
    assert isinstance(exc, AssistantError)
    return ProblemResponse(exc.problem(), status_code=exc.status, headers=exc.headers or None)


async def _password_hashing_busy(_: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, PasswordHashingBusy)
    return _problem_of(ServiceUnavailable(PASSWORD_HASHING_BUSY))


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to. Starlette's 405 lists only the methods of the first
    route that matched the path, and FastAPI has one route per method (iter_route_contexts
    sees through included routers)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http_exception(request: Request, exc: Exception) -> ProblemResponse:
    """Router 404/405."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, headers=headers)


def _problem_of(error: ProblemError) -> ProblemResponse:
    return problem_response(error.status, error.detail, error.errors(), error.headers)


class UnhandledErrorMiddleware:
    """503 problem when the database is unreachable, slow or out of connections, wherever that
    surfaced (authentication, a handler, the commit); 500 problem for anything else unexpected,
    with nothing about the failure in the body and the traceback in the log.

    A middleware inside the app's own, not an `Exception` handler:
    Starlette runs those in its outermost ServerErrorMiddleware (past the standard headers and
    CORS) and re-raises after answering, so the server drops the keep-alive connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:  # too late for a problem body; let the server abort the response
                raise
            if is_unavailable(error):
                logger.warning(
                    "database unavailable on %s %s: %s",
                    scope["method"],
                    scope["path"],
                    type(error).__name__,
                )
                await _problem_of(ServiceUnavailable())(scope, receive, send)
                return
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            await problem_response(500)(scope, receive, send)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(PasswordHashingBusy, _password_hashing_busy)
    app.add_exception_handler(StreamsFull, _streams_full)
    app.add_exception_handler(AssistantError, _assistant_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
