"""Tokens and users (createToken, getMe, createUser, listUsers, getUser)."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort
from sqlalchemy import select

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import require_admin
from impl_flask.security import CHALLENGE
from shared import problems, selects
from shared.cursors import scope
from shared.orm import User
from shared.passwords import hash_password, verify_password
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


def create_user(email: str, display_name: str, password: str, is_admin: bool) -> User:
    require_admin()
    user = User(
        email=email.lower(),
        display_name=display_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    with db.conflict_savepoint():  # the unique index decides, race-free
        db.session().add(user)
    return user


def get_user(user_id: uuid.UUID) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def list_users(q: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """By display_name then id; `q` is a case-insensitive prefix of the email or the name."""
    return paginate(
        selects.users_matching(q), selects.USERS_BY_NAME, limit, cursor, scope("users", q=q)
    )
