"""Every error the service answers, as RFC 9457 problem details (`application/problem+json`),
and which status each exception is.

`handle_error` is the only error handler. flask-smorest's own answers `{code, status, message}`
and drops werkzeug's `Allow` (openapi.Api keeps it from being installed). It handles werkzeug's
HTTP exceptions (router 404, 405 with its `Allow`, 413 from MAX_CONTENT_LENGTH), flask-smorest's
`abort(status, message=, errors=, headers=)` as the services, permissions and validation use it,
a database that is away (shared.dberrors: unreachable, pool exhausted past its timeout,
statement_timeout) as 503, every password-hashing slot taken (shared.passwords) as 503, a worker
holding all the long calls it may (shared.live.stream.StreamsFull: event streams, assistant
calls) as 503 with `Retry-After: 5`, the assistant's upstream (shared.assistant.AssistantError)
as its 502/504, or 503 without `Retry-After` when no LLM_BASE_URL is set (asking again does not
help), and anything unexpected: a 500, logged, nothing leaked. Every other 503 carries
`Retry-After: 1` (/readyz's too). Request validation (415/400/422) is validation.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from shared.assistant import AssistantError
from shared.dberrors import is_unavailable
from shared.live.stream import StreamsFull
from shared.passwords import PasswordHashingBusy
from shared.problems import (
    DATABASE_UNAVAILABLE,
    PASSWORD_HASHING_BUSY,
    PROBLEM_MEDIA_TYPE,
    STREAMS_FULL,
    problem,
)


def handle_error(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):
        if exc.code is None or exc.code < 400:
            return exc  # not an error (a redirect): werkzeug's response as it is
        status = exc.code
        data: Mapping[str, Any] = getattr(exc, "data", None) or {}
        body = problem(status, data.get("message"), data.get("errors"))
        # werkzeug's own headers (405's Allow, 401's WWW-Authenticate), minus its text/html.
        headers = [
            (name, value) for name, value in exc.get_headers() if name.lower() != "content-type"
        ]
        headers.extend((data.get("headers") or {}).items())
        original = getattr(exc, "original_exception", None)
        if original is not None:  # Flask wraps a failure outside the view in a 500
            current_app.logger.error("unhandled error", exc_info=original)
    elif isinstance(exc, AssistantError):  # logged by shared.assistant, without secrets
        return _problem_response(exc.status, exc.problem(), list(exc.headers.items()))
    elif isinstance(exc, StreamsFull):  # every long-call slot of this worker is taken
        status, body = 503, problem(503, STREAMS_FULL)
        headers = [("Retry-After", str(exc.retry_after))]
    elif isinstance(exc, PasswordHashingBusy):  # argon2's slots stayed taken for a second
        status, body, headers = 503, problem(503, PASSWORD_HASHING_BUSY), []
    elif is_unavailable(exc):  # the database is away, the pool exhausted, a statement too slow
        current_app.logger.warning("database unavailable: %s", type(exc).__name__)
        status, body, headers = 503, problem(503, DATABASE_UNAVAILABLE), []
    else:
        current_app.logger.error(
            "unhandled error on %s %s", request.method, request.path, exc_info=exc
        )
        status, body, headers = 500, problem(500), []
    if status == 503 and not any(name.lower() == "retry-after" for name, _ in headers):
        headers.append(("Retry-After", "1"))
    return _problem_response(status, body, headers)


def _problem_response(
    status: int, body: Mapping[str, Any], headers: list[tuple[str, str]]
) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, headers=headers, mimetype=PROBLEM_MEDIA_TYPE
    )


def init_app(app: Flask) -> None:
    # One handler for everything, HTTP errors included (openapi.Api keeps flask-smorest from
    # installing its own, which answers {code, status, message}).
    app.register_error_handler(Exception, handle_error)
