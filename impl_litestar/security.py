"""Authentication: a Litestar authentication middleware (bearer JWT → `request.user`), the
`current_user` dependency and the client address the sign-in throttle counts. Who may do what
once authenticated is permissions.py's; password hashing is shared.passwords' (async: in a
thread, at most a few at once)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from impl_litestar.db import request_session
from impl_litestar.errors import unauthorized
from impl_litestar.settings import app_settings
from shared import problems, selects, throttle, tokens
from shared.orm import User


class BearerTokenMiddleware(ASGIMiddleware):
    """Every /api/v1 handler needs a valid token unless it opts out with `exclude_from_auth`.

    A middleware, not a dependency: Litestar decodes the body before it resolves dependencies,
    and the contract answers 401 before 415/400/422 (contract/DECISIONS.md, "Order of checks").

    Looking the user up begins the request's transaction, which keeps a pooled connection until
    the response, so the body is received first (bytes only, no parsing; Litestar caches them
    in the scope for validation and the handler): a client that sends its body slowly holds no
    connection meanwhile (issue 13). Hence an ASGIMiddleware rather than Litestar's
    AbstractAuthenticationMiddleware, whose `authenticate_request` gets a connection that cannot
    receive the body."""

    scopes = (ScopeType.HTTP,)
    exclude_opt_key = "exclude_from_auth"  # the key AbstractAuthenticationMiddleware reads

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        token = _token(request)
        if token is None:
            raise unauthorized(problems.NOT_AUTHENTICATED)
        try:
            claims = tokens.read_token(token, app_settings(request.app.state))
        except tokens.InvalidToken:
            raise unauthorized(problems.INVALID_TOKEN) from None
        await request.body()  # at most MAX_BODY_BYTES: the 413 came before (middleware.py)
        user = await request_session(request).scalar(
            selects.USER_BY_ID, {"user_id": claims.user_id}
        )
        if user is None:  # deleted, or never existed
            raise unauthorized(problems.INVALID_TOKEN)
        # `request.user` and `request.auth` from here on: the token's claims, whose expiry ends
        # an event stream (routes/events.py).
        scope["user"], scope["auth"] = user, claims
        await next_app(scope, receive, send)


# The route handler option of the one operation that also takes its token as the `access_token`
# query parameter (streamProjectEvents: a browser's EventSource cannot send headers).
QUERY_TOKEN_OPT = "token_in_query"
QUERY_TOKEN_PARAMETER = "access_token"


def _token(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token; where the handler allows it, the query's when no Authorization header
    is sent (a header, even a bad one, wins: contract/DECISIONS.md)."""
    authorization = request.headers.get("authorization")
    if authorization is None and request.route_handler.opt.get(QUERY_TOKEN_OPT):
        return request.query_params.get(QUERY_TOKEN_PARAMETER) or None
    return tokens.bearer_token(authorization)


def provide_current_user(request: Request[User, tokens.AccessToken, Any]) -> User:
    return request.user


def provide_client_address(request: Request[Any, Any, Any]) -> str:
    """Who signs in, for the sign-in throttle: the socket peer, or behind a trusted proxy the
    address it forwarded (shared.throttle.client_address)."""
    peer = request.scope.get("client")
    return throttle.client_address(
        peer[0] if peer else None,
        request.headers.get("x-forwarded-for"),
        app_settings(request.app.state).trusted_proxies,
    )
