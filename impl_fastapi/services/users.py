"""User accounts."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.permissions import require_admin
from impl_fastapi.schemas import UserCreate
from shared import orm, selects
from shared.cursors import scope
from shared.integrity import conflict_detail
from shared.passwords import hash_password_async
from shared.settings import Settings


async def create_user(session: AsyncSession, actor: orm.User, body: UserCreate) -> orm.User:
    require_admin(actor)
    password_hash = await hash_password_async(body.password)  # CPU-bound: in a thread
    user = orm.User(
        email=body.email,  # lower-cased by the schema, so a duplicate in any case collides
        display_name=body.display_name,
        password_hash=password_hash,
        is_admin=body.is_admin,
    )
    try:
        # A savepoint: a duplicate email (also under a race) fails this INSERT only, and the
        # constraint's name says which 409 it is.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as error:
        if (detail := conflict_detail(error)) is None:
            raise
        raise Conflict(detail) from None
    return user


async def list_users(
    session: AsyncSession, settings: Settings, q: str | None, params: PageParams
) -> Page[orm.User]:
    return await paginate(
        session,
        selects.users_matching(q),
        selects.USERS_BY_NAME,
        params,
        scope("users", q=q),
        settings,
    )


async def get_user(session: AsyncSession, user_id: UUID) -> orm.User:
    user = await session.get(orm.User, user_id)
    if user is None:
        raise NotFound()
    return user
