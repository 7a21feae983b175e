"""The password grant, throttled (contract/DECISIONS.md, "Throttled sign-in"): the throttle is
asked first (429, even with the right password), then the credentials; a failure is counted and
committed although the answer is a 401, a success clears the pair's failures and upgrades a
password hash made with other parameters. The counting is migration 0004's SQL functions."""

from __future__ import annotations

from anyio import to_thread
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import TooManyRequests, Unauthorized
from impl_fastapi.schemas import Token, TokenType
from shared import orm, selects
from shared.inputs import NUL
from shared.passwords import hash_password, needs_rehash, verify_password
from shared.problems import BAD_CREDENTIALS
from shared.settings import Settings
from shared.throttle import TOO_MANY
from shared.tokens import issue_token

_RETRY_AFTER = text(
    "SELECT sign_in_retry_after(:email, CAST(:address AS inet), :window, :max_pair, :max_address)"
)
_FAILED = text("SELECT sign_in_failed(:email, CAST(:address AS inet), :window)")
_SUCCEEDED = text("SELECT sign_in_succeeded(:email, CAST(:address AS inet))")


def _throttle_email(username: str) -> str:
    """The email failures are counted under: lower-cased, as users are stored. PostgreSQL cannot
    store U+0000, and no user's email has one, so it is counted under a stand-in character."""
    return username.lower().replace(NUL, "\ufffd")


async def _find_user(session: AsyncSession, username: str) -> orm.User | None:
    if NUL in username:  # no such user can exist; never sent to PostgreSQL
        return None
    return await session.scalar(selects.user_by_email(username))


async def issue_access_token(
    session: AsyncSession, settings: Settings, username: str, password: str, address: str
) -> Token:
    email = _throttle_email(username)
    retry_after = await session.scalar(
        _RETRY_AFTER,
        {
            "email": email,
            "address": address,
            "window": settings.login_throttle_window_seconds,
            "max_pair": settings.login_max_failures_per_pair,
            "max_address": settings.login_max_failures_per_address,
        },
    )
    if retry_after:
        raise TooManyRequests(TOO_MANY, retry_after)
    user = await _find_user(session, username)
    # argon2 is CPU-bound (tens of ms): off the event loop. An unknown email is verified
    # against a dummy hash, so both failures cost the same time and read the same.
    valid = await to_thread.run_sync(
        verify_password, user.password_hash if user else None, password
    )
    if user is None or not valid:
        await session.execute(
            _FAILED,
            {"email": email, "address": address, "window": settings.login_throttle_window_seconds},
        )
        await session.commit()  # the 401 below must not roll the failure back
        raise Unauthorized(BAD_CREDENTIALS)
    await session.execute(_SUCCEEDED, {"email": email, "address": address})
    if needs_rehash(user.password_hash):
        user.password_hash = await to_thread.run_sync(hash_password, password)
    return Token(
        access_token=issue_token(user.id, settings),
        token_type=TokenType.BEARER,
        expires_in=settings.access_token_ttl_seconds,
    )
