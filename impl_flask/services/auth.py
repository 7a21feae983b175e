"""Tokens (createToken): the sign-in throttle, the password check, and the hash upgrade
(contract/DECISIONS.md, "Throttled sign-in", "Secrets and passwords").

Form validation (422) came first. No pooled connection waits on argon2: the throttle (429) and
the user are read in one short transaction, argon2 verifies (and re-hashes an outdated hash) in
a hashing slot with none held (shared.passwords; 503 past the bound), and a second short
transaction records the outcome. The throttle's rules are the SQL functions of migration 0004,
shared by all four."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort
from sqlalchemy import Row
from sqlalchemy.orm import Session

from impl_flask import db
from impl_flask.security import CHALLENGE
from shared import problems, selects
from shared.inputs import NUL
from shared.passwords import check_password
from shared.settings import get_settings
from shared.throttle import TOO_MANY, sign_in_key
from shared.tokens import issue_token


def _credentials(session: Session, username: str) -> Row[tuple[uuid.UUID, str]] | None:
    """The user's id and password hash: read now, usable after the transaction ended. A U+0000
    (no user has one) never reaches PostgreSQL, which refuses it in text."""
    if NUL in username:
        return None
    return session.execute(selects.sign_in_credentials(username)).first()


def create_token(username: str, password: str, address: str) -> dict[str, Any]:
    """The request's session has no transaction yet (the route is public): the two are begun
    and committed here; TransactionalView's own commit then has nothing to do."""
    settings = get_settings()
    session = db.session()
    email = sign_in_key(username)
    with session.begin():
        retry_after = session.scalar(
            selects.sign_in_retry_after(
                email,
                address,
                settings.login_throttle_window_seconds,
                settings.login_max_failures_per_pair,
                settings.login_max_failures_per_address,
            )
        )
        if retry_after:
            abort(429, message=TOO_MANY, headers={"Retry-After": str(max(1, retry_after))})
        user = _credentials(session, username)

    check = check_password(user.password_hash if user else None, password)

    with session.begin():
        if user is None or not check.valid:
            session.execute(
                selects.sign_in_failed(email, address, settings.login_throttle_window_seconds)
            )
        else:
            session.execute(selects.sign_in_succeeded(email, address))
            if check.upgraded_hash is not None:
                session.execute(
                    selects.upgrade_password_hash(user.id, user.password_hash, check.upgraded_hash)
                )
    if user is None or not check.valid:
        abort(401, message=problems.BAD_CREDENTIALS, headers=CHALLENGE)
    return {
        "access_token": issue_token(user.id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }
