"""The password grant."""

from __future__ import annotations

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Unauthorized
from impl_fastapi.schemas import Token, TokenType
from shared import selects
from shared.passwords import verify_password
from shared.problems import BAD_CREDENTIALS
from shared.settings import Settings
from shared.tokens import issue_token


async def issue_access_token(
    session: AsyncSession, settings: Settings, email: str, password: str
) -> Token:
    user = await session.scalar(selects.user_by_email(email))
    # argon2 is CPU-bound (tens of ms): off the event loop. An unknown email is verified
    # against a dummy hash, so both failures cost the same time and read the same.
    valid = await to_thread.run_sync(
        verify_password, user.password_hash if user else None, password
    )
    if user is None or not valid:
        raise Unauthorized(BAD_CREDENTIALS)
    return Token(
        access_token=issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
