"""Tokens (createToken)."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from sqlalchemy import select

from impl_flask import db
from impl_flask.security import CHALLENGE
from shared import problems
from shared.orm import User
from shared.passwords import verify_password
from shared.settings import get_settings
from shared.tokens import issue_token


def create_token(username: str, password: str) -> dict[str, Any]:
    """The same 401 for an unknown email and a wrong password (and the same argon2 work)."""
    user = db.session().scalar(select(User).where(User.email == username.lower()))
    if not verify_password(user.password_hash if user else None, password):
        abort(401, message=problems.BAD_CREDENTIALS, headers=CHALLENGE)
    assert user is not None
    settings = get_settings()
    return {
        "access_token": issue_token(user.id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }
