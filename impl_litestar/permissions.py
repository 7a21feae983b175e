"""Authorization: who may see (404) and do (403) what, as Litestar guards and dependencies.

A project's resources are visible to its members only (anyone else gets the 404 a missing
resource gets); within it, `Role` ranks what a member may do (shared.vocabulary). The checks read
without locks (contract/DECISIONS.md, "Locks"): a caller who may not act never waits for one;
the services then lock what they change and treat a row gone meanwhile as a 404. Validation
runs before any of these (validation.RequestValidationMiddleware): 422 comes before 404/403."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from shared import problems, selects
from shared.orm import Comment, User
from shared.vocabulary import Role


def admin_only(connection: ASGIConnection[Any, User, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: `is_admin` allows creating users, nothing else (never project access)."""
    if not connection.user.is_admin:
        raise PermissionDeniedException(detail=problems.ADMINS_ONLY)


class ProjectAccess:
    """The caller's standing in one project, established by a dependency below."""

    __slots__ = ("project_id", "role", "user")

    def __init__(self, project_id: uuid.UUID, role: Role, user: User) -> None:
        self.project_id = project_id
        self.role = role
        self.user = user

    def require(self, minimum: Role) -> None:
        if not self.role.at_least(minimum):
            raise PermissionDeniedException()


def project_role(minimum: Role = Role.VIEWER) -> Provide:
    """Dependency: members of `project_id` with at least `minimum` (404 for non-members)."""

    async def provide_project_access(
        project_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> ProjectAccess:
        role = await db_session.scalar(
            selects.MEMBER_ROLE, {"project_id": project_id, "user_id": current_user.id}
        )
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
        row = (await db_session.execute(selects.task_standing(task_id, current_user.id))).first()
        if row is None:
            raise NotFoundException()
        project_id, role = row
        access = TaskAccess(task_id, project_id, Role(role), current_user)
        access.require(minimum)
        return access

    return Provide(provide_task_access)


class CommentAccess(ProjectAccess):
    __slots__ = ("comment",)

    def __init__(self, comment: Comment, project_id: uuid.UUID, role: Role, user: User) -> None:
        super().__init__(project_id, role, user)
        self.comment = comment

    @property
    def is_author(self) -> bool:
        return self.comment.author_id == self.user.id


CommentAction = Literal["edit", "delete"]


def comment_permission(action: CommentAction) -> Provide:
    """Dependency: the comment `comment_id`, visible to members of its task's project; only its
    author edits it (owners included in the refusal), its author or a project owner deletes it."""

    async def provide_comment_access(
        comment_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> CommentAccess:
        row = (
            await db_session.execute(selects.comment_standing(comment_id, current_user.id))
        ).first()
        if row is None:
            raise NotFoundException()
        comment, project_id, role = row
        access = CommentAccess(comment, project_id, Role(role), current_user)
        if action == "edit" and not access.is_author:
            raise PermissionDeniedException(detail=problems.ONLY_AUTHOR_EDITS)
        if action == "delete" and not (access.is_author or access.role is Role.OWNER):
            raise PermissionDeniedException(detail=problems.ONLY_AUTHOR_OR_OWNER_DELETES)
        return access

    return Provide(provide_comment_access)
