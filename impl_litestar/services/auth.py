"""The password grant (createToken), throttled (contract/DECISIONS.md, "Throttled sign-in").

Form validation (422) has run. Then, so that no pooled connection waits on argon2: the throttle
(429, even with the right password) and the user's id and hash in one short transaction; the
argon2 work in a hashing slot with no connection held (503 past the bound, shared.passwords); a
second short transaction for the failure (401) or the success and an upgraded hash. The
counting is migration 0004's SQL functions, the same in all four implementations."""

from __future__ import annotations

import uuid

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import too_many_sign_ins, unauthorized
from impl_litestar.schemas import Token, TokenType
from shared import problems, selects, tokens
from shared.inputs import NUL
from shared.passwords import check_password_async
from shared.settings import Settings
from shared.throttle import sign_in_key


async def _credentials(session: AsyncSession, email: str) -> Row[tuple[uuid.UUID, str]] | None:
    """The user's id and password hash: read now, usable after the transaction ended. A U+0000
    (no user has one) never reaches PostgreSQL, which refuses it in text."""
    if NUL in email:
        return None
    return (await session.execute(selects.sign_in_credentials(email))).first()


async def issue_access_token(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str
) -> Token:
    """The request's session has no transaction yet (this route authenticates nobody): the two
    are begun and committed here; the session dependency's own commit then has nothing to do."""
    throttled_as = sign_in_key(email)
    async with session.begin():
        retry_after = await session.scalar(
            selects.sign_in_retry_after(
                throttled_as,
                address,
                settings.login_throttle_window_seconds,
                settings.login_max_failures_per_pair,
                settings.login_max_failures_per_address,
            )
        )
        if retry_after:
            raise too_many_sign_ins(retry_after)
        user = await _credentials(session, email)

    check = await check_password_async(user.password_hash if user else None, password)

    async with session.begin():
        if user is None or not check.valid:
            await session.execute(
                selects.sign_in_failed(
                    throttled_as, address, settings.login_throttle_window_seconds
                )
            )
        else:
            await session.execute(selects.sign_in_succeeded(throttled_as, address))
            if check.upgraded_hash is not None:
                await session.execute(
                    selects.upgrade_password_hash(user.id, user.password_hash, check.upgraded_hash)
                )
    if user is None or not check.valid:
        raise unauthorized(problems.BAD_CREDENTIALS)
    return Token(
        access_token=tokens.issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
