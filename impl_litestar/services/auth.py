"""The password grant (createToken)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import unauthorized
from impl_litestar.schemas import Token, TokenType
from impl_litestar.security import verify_password
from shared import problems, tokens
from shared.orm import User
from shared.settings import Settings


async def issue_access_token(
    session: AsyncSession, settings: Settings, email: str, password: str
) -> Token:
    """Unknown email and wrong password give the same 401 and take the same time: an unknown
    email is verified against a dummy hash."""
    user = await session.scalar(select(User).where(User.email == email.lower()))
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise unauthorized(problems.BAD_CREDENTIALS)
    return Token(
        access_token=tokens.issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
