"""The password grant, throttled (contract/DECISIONS.md, "Throttled sign-in"), so that no pooled
connection waits on argon2: a short transaction asks the throttle (429, even with the right
password) and reads the user's id and hash; argon2 runs with no connection held, in one of the
process's few hashing slots (shared.passwords: 503 when none frees within a second); a second
short transaction records the failure (then 401) or the success and an upgraded hash. An unknown
email is verified against a dummy hash: the same 401, the same time. The counting is migration
0004's SQL functions, the same in all four implementations."""

from __future__ import annotations

import uuid

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import TooManyRequests, Unauthorized
from impl_fastapi.schemas import Token, TokenType
from shared import selects
from shared.inputs import NUL
from shared.passwords import check_password_async
from shared.problems import BAD_CREDENTIALS
from shared.settings import Settings
from shared.throttle import TOO_MANY, sign_in_key
from shared.tokens import issue_token


async def _credentials(session: AsyncSession, username: str) -> Row[tuple[uuid.UUID, str]] | None:
    """The user's id and password hash: read now, usable after the transaction ended."""
    if NUL in username:  # no such user can exist; never sent to PostgreSQL
        return None
    return (await session.execute(selects.sign_in_credentials(username))).first()


async def issue_access_token(
    session: AsyncSession, settings: Settings, username: str, password: str, address: str
) -> Token:
    """`session` has no transaction yet: this function begins and ends its own two."""
    email = sign_in_key(username)
    async with session.begin():
        retry_after = await session.scalar(
            selects.sign_in_retry_after(
                email,
                address,
                settings.login_throttle_window_seconds,
                settings.login_max_failures_per_pair,
                settings.login_max_failures_per_address,
            )
        )
        if retry_after:
            raise TooManyRequests(TOO_MANY, retry_after)
        user = await _credentials(session, username)

    check = await check_password_async(user.password_hash if user else None, password)

    async with session.begin():
        if user is None or not check.valid:
            await session.execute(
                selects.sign_in_failed(email, address, settings.login_throttle_window_seconds)
            )
        else:
            await session.execute(selects.sign_in_succeeded(email, address))
            if check.upgraded_hash is not None:
                await session.execute(
                    selects.upgrade_password_hash(user.id, user.password_hash, check.upgraded_hash)
                )
    if user is None or not check.valid:
        raise Unauthorized(BAD_CREDENTIALS)
    return Token(
        access_token=issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
