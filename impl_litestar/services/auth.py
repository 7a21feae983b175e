"""The password grant (createToken), throttled (contract/DECISIONS.md, "Throttled sign-in").

Form validation (422) has run; then the throttle (429), then the credentials (401 or a token).
The counting is migration 0004's SQL functions, the same in all four implementations."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import too_many_sign_ins, unauthorized
from impl_litestar.schemas import Token, TokenType
from impl_litestar.security import hash_password, verify_password
from shared import passwords, problems, tokens
from shared.inputs import NUL
from shared.orm import User
from shared.settings import Settings


async def issue_access_token(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str
) -> Token:
    """Unknown email and wrong password give the same 401 and take the same time: an unknown
    email is verified against a dummy hash. A U+0000 in the credentials is a failed sign-in
    like any other, and never reaches PostgreSQL (which refuses it in text)."""
    throttled_as = email.lower().replace(NUL, "\N{REPLACEMENT CHARACTER}")
    retry_after = await session.scalar(
        select(
            func.sign_in_retry_after(
                throttled_as,
                func.inet(address),
                settings.login_throttle_window_seconds,
                settings.login_max_failures_per_pair,
                settings.login_max_failures_per_address,
            )
        )
    )
    if retry_after:
        raise too_many_sign_ins(retry_after)
    user = None
    if NUL not in email and NUL not in password:
        user = await session.scalar(select(User).where(User.email == email.lower()))
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        await session.execute(
            select(
                func.sign_in_failed(
                    throttled_as, func.inet(address), settings.login_throttle_window_seconds
                )
            )
        )
        await session.commit()  # the failure counts although the answer is an error
        raise unauthorized(problems.BAD_CREDENTIALS)
    await session.execute(select(func.sign_in_succeeded(throttled_as, func.inet(address))))
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)  # committed with the sign-in
    return Token(
        access_token=tokens.issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
