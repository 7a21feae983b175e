"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers, breaks streaming and contextvars)."""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl_fastapi.errors import problem_response
from shared.httputil import REQUEST_ID_HEADER, SECURITY_HEADERS, request_id
from shared.problems import MAX_BODY_BYTES


class StandardHeadersMiddleware:
    """X-Request-ID, Cache-Control: no-store and X-Content-Type-Options: nosniff on every
    response, errors and CORS preflights included. Outermost, so nothing escapes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        extra = {REQUEST_ID_HEADER: rid, **SECURITY_HEADERS}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_route(scope: Scope) -> bool:
    """Whether a route takes this method on this path. The router's 404 and 405 come before the
    body limit (DECISIONS order of checks), and this middleware runs before the router."""
    return any(
        route.matches(scope)[0] is Match.FULL
        for route in iter_route_contexts(scope["app"].router.routes)
    )


class BodySizeLimitMiddleware:
    """413 for request bodies over MAX_BODY_BYTES, on every operation (bodiless ones too), after
    the router's 404/405 and before anything else: at once when Content-Length says so; a
    streamed (chunked) body is read here, up to the limit, before the app sees it — an
    operation without a body would otherwise never read it, and so never notice."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes and _has_route(scope):
                await problem_response(413)(scope, receive, send)
                return
            # The server holds the client to its Content-Length.
            await self.app(scope, receive, send)
            return
        if "chunked" not in headers.get("transfer-encoding", "").lower() or not _has_route(scope):
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await problem_response(413)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # a disconnect, for whoever waits for one
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay_receive, send)


def _path_exists(scope: Scope) -> bool:
    """Whether any route answers on this path, whatever the method."""
    return any(
        route.matches(scope)[0] is not Match.NONE
        for route in iter_route_contexts(scope["app"].router.routes)
    )


class ContractCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, bent to the contract (contract/DECISIONS.md, "Operations"):

    - a preflight on an existing path is a 204 with no body; a refused one (foreign origin, a
      method or header not allowed) a 204 with no `Access-Control-*` header at all, where
      Starlette answers 400 with the headers it would have allowed;
    - a preflight on an unknown path goes to the router, whose 404 answers;
    - a simple response to a foreign origin carries no `Access-Control-*` header either
      (Starlette adds `Access-Control-Expose-Headers` for any origin);
    - `Access-Control-Allow-Headers` lists the contract's headers only, not also the
      CORS-safelisted ones Starlette adds."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        super().__init__(app, **options)
        self.preflight_headers["Access-Control-Allow-Headers"] = ", ".join(
            options.get("allow_headers", ())
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "origin" not in Headers(scope=scope):
            # Not a CORS request: Starlette would still add `Vary: Origin`, which the contract
            # sends only in answer to an Origin.
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "OPTIONS" and not _path_exists(scope):
            headers = Headers(scope=scope)
            await self.simple_response(scope, receive, send, request_headers=headers)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        refused = super().preflight_response(request_headers).status_code >= 400
        headers = {
            name: value
            for name, value in self.preflight_headers.items()
            if not (refused and name.lower().startswith("access-control-"))
        }
        if not refused:
            headers["Access-Control-Allow-Origin"] = request_headers["origin"]
        return Response(status_code=204, headers=headers)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if (
            message["type"] != "http.response.start"
            or origin is None
            or self.is_allowed_origin(origin=origin)
        ):
            await super().send(message, send, request_headers)
            return
        headers = MutableHeaders(scope=message)
        headers.add_vary_header("Origin")
        await send(message)
