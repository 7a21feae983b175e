"""Headers every response carries (request id, security headers, CORS), and the gates that answer
before authentication: a trailing slash's 404, the CORS preflight's 204 and the body size's 413.

At app level, on every route: TrailingSlashMiddleware (404), CORSMiddleware (the preflight),
BodySizeLimitMiddleware (413, every operation, bodiless ones too). Under /api/v1, the Router's
middleware, outermost first: db.RequestSessionMiddleware → security.BearerTokenMiddleware (401) →
validation.RequestValidationMiddleware (415, 400, 422) → guards and permissions' dependencies
(404 visibility, 403 roles) → handler."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import ASGIMiddleware
from litestar.response.base import ASGIResponse
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from impl_litestar.errors import has_trailing_slash
from impl_litestar.settings import app_settings
from shared.httputil import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE,
    REQUEST_ID_HEADER,
    SECURITY_HEADERS,
    request_id,
)
from shared.problems import MAX_BODY_BYTES


class CORSMiddleware(ASGIMiddleware):
    """The contract's CORS preflight (contract/DECISIONS.md, "Operations"; policy in
    shared.httputil), instead of Litestar's `cors_config`, which answers any OPTIONS with an
    Origin (preflight or not) and refuses a foreign one with a text/plain 400, and adds
    Allow-Methods/-Headers to every simple response.

    App level, so it runs for existing paths only (an unknown path gets the router's 404): a
    preflight (OPTIONS + Origin + Access-Control-Request-Method) is a 204 with no body; an
    allowed origin asking for allowed methods and headers gets the CORS headers, anything else
    none at all. Any other OPTIONS is the 405 of a method the path does not have (Litestar
    would answer it with a made-up 204). The headers of simple responses are
    `add_response_headers`'."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        origin = headers.get("origin")
        method = headers.get("access-control-request-method")
        if scope["method"] != "OPTIONS":
            await next_app(scope, receive, send)
            return
        if origin is None or method is None:  # not a preflight: OPTIONS is no contract method
            raise MethodNotAllowedException(headers={"Allow": _allowed_methods(scope)})
        scope.setdefault("state", {})[_PREFLIGHT] = True
        granted = {}
        if _origin_allowed(scope, origin) and _preflight_allowed(
            method, headers.get("access-control-request-headers", "")
        ):
            granted = _PREFLIGHT_GRANTED | {"Access-Control-Allow-Origin": origin}
        await ASGIResponse(status_code=204, headers=granted)(scope, receive, send)


_PREFLIGHT = "cors_preflight"
_ALLOWED_HEADERS = frozenset(header.lower() for header in CORS_ALLOW_HEADERS)
_PREFLIGHT_GRANTED = {
    "Access-Control-Allow-Methods": ", ".join(CORS_ALLOW_METHODS),
    "Access-Control-Allow-Headers": ", ".join(CORS_ALLOW_HEADERS),
    "Access-Control-Max-Age": str(CORS_MAX_AGE),
}
_SIMPLE_GRANTED = {"Access-Control-Expose-Headers": ", ".join(CORS_EXPOSE_HEADERS)}


def _origin_allowed(scope: Scope, origin: str) -> bool:
    return origin in app_settings(scope["litestar_app"].state).cors_origins


def _preflight_allowed(method: str, requested_headers: str) -> bool:
    requested = {name.strip().lower() for name in requested_headers.split(",") if name.strip()}
    return method in CORS_ALLOW_METHODS and requested <= _ALLOWED_HEADERS


async def add_response_headers(message: Message, scope: Scope) -> None:
    """App-level `before_send` hook: it sees every response, including the router's 404/405,
    exception responses and CORS preflights, which route middleware never does. It adds the
    request id, the security headers and a simple response's CORS headers, and keeps `Allow`
    to 405s (Litestar also sends it on the OPTIONS answers it makes up)."""
    if message["type"] != "http.response.start":
        return
    state = scope.setdefault("state", {})
    headers = MutableScopeHeaders.from_message(message)
    if "request_id" not in state:
        incoming = next(
            (
                value.decode("latin-1")
                for name, value in scope.get("headers", ())
                if name == b"x-request-id"
            ),
            None,
        )
        state["request_id"] = request_id(incoming)
    headers[REQUEST_ID_HEADER] = state["request_id"]
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    if message["status"] != 405 and "allow" in headers:
        del headers["allow"]
    elif "allow" in headers:  # Litestar lists its OPTIONS handler, which only answers preflights
        headers["Allow"] = _without_options(headers["allow"])
    origin = Headers.from_scope(scope).get("origin")
    if origin is not None:
        vary = headers.get("vary")
        headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
        if not state.get(_PREFLIGHT) and _origin_allowed(scope, origin):
            headers.update({**_SIMPLE_GRANTED, "Access-Control-Allow-Origin": origin})


def _allowed_methods(scope: Scope) -> str:
    """The methods of the matched path, as a 405's `Allow` lists them."""
    app: Any = scope["litestar_app"]
    template = scope.get("path_template")
    methods = {
        method
        for route in app.routes
        if isinstance(route, HTTPRoute) and template in (route.path, route.path_format)
        for method in route.methods
    }
    return _without_options(", ".join(sorted(methods)))


def _without_options(allow: str) -> str:
    return ", ".join(m.strip() for m in allow.split(",") if m.strip().upper() != "OPTIONS")


class TrailingSlashMiddleware(ASGIMiddleware):
    """404 for `/api/v1/projects/`: Litestar's router ignores a trailing slash, the contract
    has no such paths. App-level, so it answers before anything else a route would do (for a
    method the path does not have, errors.py turns the router's 405 into this 404)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if has_trailing_slash(scope):
            raise NotFoundException()
        await next_app(scope, receive, send)


class BodySizeLimitMiddleware(ASGIMiddleware):
    """413 for a body over MAX_BODY_BYTES before authentication (contract/DECISIONS.md, "Order
    of checks": 413 precedes 401).

    Litestar's `request_max_body_size` enforces the same limit, but only once the body is read,
    which is after authentication. So a declared Content-Length is checked here, and a chunked
    body (no length to check) is read here: Litestar counts it while reading, raises 413 over
    the limit, and caches it for the handler."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        declared = headers.get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise RequestEntityTooLarge()
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            await Request(scope, receive).body()
        await next_app(scope, receive, send)
