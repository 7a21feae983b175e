"""User accounts: listed and read by any user, created by admins (the guard is permissions.py's)."""

from __future__ import annotations

import uuid

from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.db import add_unique
from impl_litestar.pagination import PageParams, Window, paginate
from impl_litestar.schemas import UserCreate
from shared import selects
from shared.cursors import scope
from shared.orm import User
from shared.passwords import hash_password_async
from shared.settings import Settings


async def list_users(
    session: AsyncSession, settings: Settings, q: str | None, params: PageParams
) -> Window:
    """By display name, then id; `q` a case-insensitive prefix of the email or display name."""
    return await paginate(
        session,
        selects.users_matching(q),
        selects.USERS_BY_NAME,
        params,
        scope("users", q=q),
        settings,
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    if (user := await session.get(User, user_id)) is None:
        raise NotFoundException()
    return user


async def create_user(session: AsyncSession, body: UserCreate) -> User:
    """Emails are stored lower-cased and unique in any case (409)."""
    user = User(
        email=body.email.lower(),
        display_name=body.display_name,
        password_hash=await hash_password_async(body.password),  # in a thread
        is_admin=body.is_admin,
    )
    await add_unique(session, user)
    return user
