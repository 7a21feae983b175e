"""Tokens (createToken): the sign-in throttle, the password check, and the hash upgrade
(contract/DECISIONS.md, "Throttled sign-in", "Secrets and passwords").

Form validation (422) came first; then the throttle (429), then the user and argon2 (401 or
200). The throttle's rules are the SQL functions of migration 0004, shared by all four."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from sqlalchemy import text

from impl_flask import db
from impl_flask.security import CHALLENGE
from shared import problems, selects
from shared.inputs import NUL
from shared.passwords import hash_password, needs_rehash, verify_password
from shared.settings import get_settings
from shared.throttle import TOO_MANY
from shared.tokens import issue_token

_RETRY_AFTER = text(
    "SELECT sign_in_retry_after(:email, CAST(:address AS inet), :window, :max_pair, :max_address)"
)
_FAILED = text("SELECT sign_in_failed(:email, CAST(:address AS inet), :window)")
_SUCCEEDED = text("SELECT sign_in_succeeded(:email, CAST(:address AS inet))")


def create_token(username: str, password: str, address: str) -> dict[str, Any]:
    """The same 401 for an unknown email and a wrong password (and the same argon2 work)."""
    settings = get_settings()
    session = db.session()
    # The throttle counts per email as users are stored (lower-cased). PostgreSQL text cannot
    # hold U+0000: such an email matches no user, and is counted under a stand-in character.
    email = username.lower().replace(NUL, "\N{REPLACEMENT CHARACTER}")
    pair = {"email": email, "address": address}
    retry_after = session.scalar(
        _RETRY_AFTER,
        {
            **pair,
            "window": settings.login_throttle_window_seconds,
            "max_pair": settings.login_max_failures_per_pair,
            "max_address": settings.login_max_failures_per_address,
        },
    )
    if retry_after:
        abort(429, message=TOO_MANY, headers={"Retry-After": str(max(1, retry_after))})

    user = None if NUL in username else session.scalar(selects.user_by_email(username))
    if not verify_password(user.password_hash if user else None, password):
        session.execute(_FAILED, {**pair, "window": settings.login_throttle_window_seconds})
        # Committed although the answer is an error (the view's rollback would forget it).
        session.commit()
        abort(401, message=problems.BAD_CREDENTIALS, headers=CHALLENGE)
    assert user is not None
    session.execute(_SUCCEEDED, pair)
    if needs_rehash(user.password_hash):  # made with other argon2 parameters: upgrade it
        user.password_hash = hash_password(password)
    return {
        "access_token": issue_token(user.id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }
