"""Users (getMe, createUser, listUsers, getUser)."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import require_admin
from shared import selects
from shared.cursors import scope
from shared.orm import User
from shared.passwords import hash_password


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
