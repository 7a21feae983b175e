"""Authentication (a Litestar authentication middleware: bearer JWT → `request.user`), the admin
guard, and the project-role dependencies that decide visibility (404) and permission (403)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar import queries
from impl_litestar.db import request_session
from impl_litestar.errors import unauthorized
from impl_litestar.schemas import Role
from shared import passwords, tokens
from shared.orm import User
from shared.settings import get_settings


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Every /api/v1 handler needs a valid token unless it opts out with `exclude_from_auth`.

    A middleware, not a dependency: Litestar decodes the body before it resolves dependencies,
    and the contract answers 401 before 415/400/422."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = tokens.bearer_token(connection.headers.get("authorization"))
        if token is None:
            raise unauthorized("Not authenticated")
        try:
            user_id = tokens.read_token(token, get_settings())
        except tokens.InvalidToken:
            raise unauthorized("Could not validate credentials") from None
        user = await request_session(connection).get(User, user_id)
        if user is None:  # deleted, or never existed
            raise unauthorized("Could not validate credentials")
        return AuthenticationResult(user=user, auth=token)


def provide_current_user(request: Request[User, str, Any]) -> User:
    return request.user


def admin_only(connection: ASGIConnection[Any, User, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: `is_admin` allows creating users, nothing else."""
    if not connection.user.is_admin:
        raise PermissionDeniedException()


async def hash_password(password: str) -> str:
    """argon2 is CPU-bound by design (~50 ms): run it off the event loop."""
    return await sync_to_thread(passwords.hash_password, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await sync_to_thread(passwords.verify_password, password_hash, password)


# ------------------------------------------------------------------------------ project roles


class ProjectAccess:
    """The caller's standing in one project, established by a dependency below."""

    __slots__ = ("project_id", "role", "user")

    def __init__(self, project_id: uuid.UUID, role: Role, user: User) -> None:
        self.project_id = project_id
        self.role = role
        self.user = user

    def require(self, minimum: Role) -> None:
        if self.role.rank < minimum.rank:
            raise PermissionDeniedException()


def project_role(minimum: Role = Role.VIEWER) -> Provide:
    """Dependency: members of `project_id` with at least `minimum` (404 for non-members)."""

    async def provide_project_access(
        project_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> ProjectAccess:
        role = await queries.member_role(db_session, project_id, current_user.id)
        if role is None:
            raise NotFoundException()
        access = ProjectAccess(project_id, Role(role), current_user)
        access.require(minimum)
        return access

    return Provide(provide_project_access)


class TaskAccess(ProjectAccess):
    __slots__ = ("task_id",)

    def __init__(self, task_id: uuid.UUID, project_id: uuid.UUID, role: Role, user: User) -> None:
        super().__init__(project_id, role, user)
        self.task_id = task_id


def task_role(minimum: Role = Role.VIEWER) -> Provide:
    """Dependency: the task `task_id`, visible to members of its project only."""

    async def provide_task_access(
        task_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> TaskAccess:
        found = await queries.task_role(db_session, task_id, current_user.id)
        if found is None:
            raise NotFoundException()
        project_id, role = found
        access = TaskAccess(task_id, project_id, Role(role), current_user)
        access.require(minimum)
        return access

    return Provide(provide_task_access)


class CommentAccess(ProjectAccess):
    __slots__ = ("comment",)

    def __init__(self, comment: Any, project_id: uuid.UUID, role: Role, user: User) -> None:
        super().__init__(project_id, role, user)
        self.comment = comment

    @property
    def is_author(self) -> bool:
        return self.comment.author_id == self.user.id


async def provide_comment_access(
    comment_id: uuid.UUID, db_session: AsyncSession, current_user: User
) -> CommentAccess:
    """Dependency: the comment `comment_id`, visible to members of its task's project."""
    found = await queries.comment_with_role(db_session, comment_id, current_user.id)
    if found is None:
        raise NotFoundException()
    comment, project_id, role = found
    return CommentAccess(comment, project_id, Role(role), current_user)
