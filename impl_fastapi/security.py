"""Authentication: a bearer JWT naming an existing user.

Authentication is a dependency of every protected router: it runs before validation, so an
anonymous request with a bad body gets 401 (contract/DECISIONS.md, order of checks). What the
user may see and do is permissions.py's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.db import Session
from impl_fastapi.errors import Unauthorized
from impl_fastapi.settings import SettingsDep
from shared import orm, selects
from shared.problems import NOT_AUTHENTICATED
from shared.settings import Settings
from shared.throttle import client_address
from shared.tokens import InvalidToken, bearer_token, read_token

TOKEN_URL = "/api/v1/auth/token"


class BearerToken(OAuth2PasswordBearer):
    """OAuth2PasswordBearer for the OpenAPI security scheme, with the one token-extraction rule
    every implementation shares (case-insensitive scheme, surrounding spaces ignored)."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return bearer_token(request.headers.get("Authorization"))


bearer = BearerToken(tokenUrl=TOKEN_URL, scheme_name="OAuth2PasswordBearer", auto_error=False)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a valid token speaks for, and until when (its `exp`, epoch seconds: an event stream
    ends then)."""

    user: orm.User
    expires_at: int


async def authenticate(
    token: Annotated[str | None, Depends(bearer)], session: Session, settings: SettingsDep
) -> orm.User:
    return (await _caller(token, session, settings)).user


async def _caller(token: str | None, session: AsyncSession, settings: Settings) -> Caller:
    if token is None:
        raise Unauthorized(NOT_AUTHENTICATED)
    try:
        claims = read_token(token, settings)
    except InvalidToken:
        raise Unauthorized() from None
    user = await session.scalar(selects.USER_BY_ID, {"user_id": claims.user_id})
    if user is None:  # deleted since the token was issued
        raise Unauthorized()
    return Caller(user, claims.expires_at)


CurrentUser = Annotated[orm.User, Depends(authenticate)]


async def authenticate_stream(
    request: Request,
    header_token: Annotated[str | None, Depends(bearer)],
    session: Session,
    settings: SettingsDep,
) -> Caller:
    """authenticate, for event streams: the bearer header, or else the `access_token` query
    parameter — one credential, never a fallback from a failing one: a header that is there
    decides, even a bad one. Read raw, before validation (401 before 422): the parameter is
    declared, documented and validated with the others by the route (routes/events.py). The
    token's expiry comes along: the stream ends then."""
    if "Authorization" in request.headers:
        return await _caller(header_token, session, settings)
    return await _caller(request.query_params.get("access_token"), session, settings)


# The event stream's router-level authentication (the only operation that takes a query token).
STREAM_AUTHENTICATED = [Depends(authenticate_stream)]


# Router-level: every route of a protected router authenticates first (before the body checks
# of validation.ContractRoute and before validation); handlers that need the user declare
# CurrentUser, which FastAPI answers from the same request's dependency cache.
AUTHENTICATED = [Depends(authenticate)]


async def _client_address(  # async: no threadpool hop (settings.py)
    request: Request, settings: SettingsDep
) -> str:
    """Who is signing in, for the sign-in throttle: the socket peer (ASGI `client`), or behind
    a trusted proxy the right-most X-Forwarded-For entry it did not add itself."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("X-Forwarded-For"), settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(_client_address)]
