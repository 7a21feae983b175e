"""Request/response hooks that apply to every request (contract/DECISIONS.md, "Operations"):
request id, CORS, body limit, and the headers every response carries — errors, 404/405,
preflights and docs included."""

from __future__ import annotations

from flask import Response, current_app, g, request
from flask_smorest import abort
from werkzeug.exceptions import NotFound

from shared.httputil import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE,
    REQUEST_ID_HEADER,
    SECURITY_HEADERS,
    request_id,
)
from shared.settings import get_settings
from shared.wsgi import body_too_large

_DRAIN_CHUNK = 64 * 1024


def assign_request_id() -> None:
    g.request_id = request_id(request.headers.get(REQUEST_ID_HEADER))


def _is_preflight() -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def answer_preflight() -> Response | None:
    """A CORS preflight on an existing path is answered here: 204, with the CORS headers when
    the origin, method and headers are allowed (added by `add_standard_headers`), with no
    `Access-Control-*` header at all otherwise. On an unknown path the router's 404 answers."""
    if _is_preflight() and not isinstance(request.routing_exception, NotFound):
        return current_app.response_class(status=204)
    return None


def _preflight_allowed() -> bool:
    method = request.headers.get("Access-Control-Request-Method", "")
    requested = request.headers.get("Access-Control-Request-Headers", "")
    allowed_headers = {name.lower() for name in CORS_ALLOW_HEADERS}
    return method in CORS_ALLOW_METHODS and all(
        name.strip().lower() in allowed_headers for name in requested.split(",") if name.strip()
    )


def enforce_body_limit() -> None:
    """413 for a body over MAX_BODY_BYTES, before authentication (contract order), whether
    Content-Length says so or shared.wsgi.RequestBodyGuard counted it (and drains it)."""
    if request.routing_exception is not None:
        return  # unknown path or method: the router's 404/405 come first
    if body_too_large(request.environ):
        abort(413)


def drain_request_body(response: Response) -> Response:
    """Read what is left of a body the answer did not need (a 401, 404, 405, ... sent before
    parsing), before the answer leaves: gunicorn drains at most 64 KiB of an unread body and
    then closes a connection it has just answered with `Connection: keep-alive`, so the client's
    next request on it fails. Bounded (the body is at most MAX_BODY_BYTES, checked by
    `enforce_body_limit`; an oversize one shared.wsgi drains) and linear."""
    if not body_too_large(request.environ):
        while request.stream.read(_DRAIN_CHUNK):
            pass
    return response


def add_standard_headers(response: Response) -> Response:
    if response.status_code in (204, 304):
        del response.headers["Content-Type"]  # no body, no media type (Flask adds a default)
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or request_id(
        request.headers.get(REQUEST_ID_HEADER)
    )
    response.headers.update(SECURITY_HEADERS)
    origin = request.headers.get("Origin")
    if origin is not None:
        response.vary.add("Origin")
        allowed = origin in get_settings().cors_origins  # foreign: no Access-Control-* at all
        if allowed and not _is_preflight():
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = ", ".join(CORS_EXPOSE_HEADERS)
        elif allowed and response.status_code == 204 and _preflight_allowed():
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = ", ".join(CORS_ALLOW_METHODS)
            response.headers["Access-Control-Allow-Headers"] = ", ".join(CORS_ALLOW_HEADERS)
            response.headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
    return response
