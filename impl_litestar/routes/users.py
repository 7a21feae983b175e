"""The caller (/me) and user accounts (/users)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.idempotency import idempotent_post
from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.permissions import admin_only
from impl_litestar.schemas import Page, User, UserCreate
from impl_litestar.services import users
from impl_litestar.settings import AppSettings
from shared import orm
from shared.vocabulary import SEARCH_MAX_LENGTH


class UserController(Controller):
    path = "/"
    tags = ["users"]
    security = BEARER

    @get(
        "/me",
        operation_id="getMe",
        summary="The caller",
        operation_class=ContractOperation,
        responses=problem_responses(401),
    )
    async def get_me(self, current_user: orm.User) -> User:
        return User.of(current_user)

    @idempotent_post(
        "/users",
        operation_id="createUser",
        summary="Create a user (admins only)",
        guards=[admin_only],
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 409, 415, 422),
    )
    async def create_user(self, data: UserCreate, db_session: AsyncSession) -> Response[User]:
        """Emails are stored lower-cased and unique in any case (409)."""
        user = await users.create_user(db_session, data)
        return Response(
            User.of(user), status_code=201, headers={"Location": f"/api/v1/users/{user.id}"}
        )

    @get(
        "/users",
        operation_id="listUsers",
        summary="List users",
        operation_class=ContractOperation,
        responses=problem_responses(401, 422),
    )
    async def list_users(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        q: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=SEARCH_MAX_LENGTH,
                description="Case-insensitive prefix of the email or the display name.",
            ),
        ] = None,
    ) -> Page[User]:
        """Ordered by display name, then id."""
        window = await users.list_users(db_session, settings, q, PageParams(limit, cursor))
        return Page([User.of(user) for user in window.rows], window.next_cursor)

    @get(
        "/users/{user_id:str}",
        operation_id="getUser",
        summary="Get a user",
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def get_user(self, db_session: AsyncSession, user_id: UUID) -> User:
        return User.of(await users.get_user(db_session, user_id))
