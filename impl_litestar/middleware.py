"""Headers every response carries (request id, security headers, CORS fixes), and the gates that
answer before authentication: a trailing slash's 404 and the body size's 413.

TrailingSlashMiddleware (app level, 404) runs first. Under /api/v1, the Router's middleware,
outermost first: BodySizeLimitMiddleware (413) → db.RequestSessionMiddleware →
security.BearerTokenMiddleware (401) → validation.RequestValidationMiddleware (415, 400, 422) →
guards and permissions' dependencies (404 visibility, 403 roles) → handler."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.middleware import ASGIMiddleware
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from impl_litestar.errors import has_trailing_slash
from shared import problems
from shared.httputil import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE,
    REQUEST_ID_HEADER,
    SECURITY_HEADERS,
    request_id,
)
from shared.problems import MAX_BODY_BYTES, PROBLEM_MEDIA_TYPE, problem
from shared.settings import Settings


def cors_config(settings: Settings) -> CORSConfig | None:
    """Litestar's CORS middleware, configured with the contract's policy (shared.httputil)."""
    if not settings.cors_origins:
        return None  # no origin allowed: no CORS headers at all
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=list(CORS_ALLOW_METHODS),
        allow_headers=list(CORS_ALLOW_HEADERS),
        expose_headers=list(CORS_EXPOSE_HEADERS),
        allow_credentials=False,
        max_age=CORS_MAX_AGE,
    )


async def add_response_headers(message: Message, scope: Scope) -> None:
    """App-level `before_send` hook: it sees every response, including the router's 404/405,
    exception responses and CORS preflights, which route middleware never does."""
    state = scope.setdefault("state", {})
    if message["type"] == "http.response.body" and state.get("refused_preflight"):
        message["body"] = _REFUSED_PREFLIGHT
        message["more_body"] = False
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    if _is_refused_preflight(scope, message, headers):
        # Litestar's CORS middleware refuses with a text/plain 400; every 4xx is a problem.
        state["refused_preflight"] = True
        headers["Content-Type"] = PROBLEM_MEDIA_TYPE
        headers["Content-Length"] = str(len(_REFUSED_PREFLIGHT))
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
    if scope.get("method") == "OPTIONS" and "allow" in headers:
        headers["Allow"] = _allowed_methods(scope) or headers["allow"]
    headers[REQUEST_ID_HEADER] = state["request_id"]
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value


def _allowed_methods(scope: Scope) -> str:
    """Every method of the matched path. Litestar's automatic OPTIONS handler lists only the
    methods of the first handler registered for a path (it keeps the stale list when a Controller
    adds the path's other handlers), e.g. `Allow: OPTIONS, POST` for GET+POST /projects."""
    app: Any = scope["litestar_app"]
    template = scope.get("path_template")
    methods = {
        method
        for route in app.routes
        if isinstance(route, HTTPRoute) and template in (route.path, route.path_format)
        for method in route.methods
    }
    return ", ".join(sorted(methods))


_REFUSED_PREFLIGHT = json.dumps(problem(400, problems.CORS_PREFLIGHT_REFUSED)).encode()


def _is_refused_preflight(scope: Scope, message: Message, headers: MutableScopeHeaders) -> bool:
    return (
        scope.get("method") == "OPTIONS"
        and message["status"] == 400
        and (headers.get("content-type") or "").startswith("text/plain")
    )


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
