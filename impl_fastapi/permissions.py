"""Authorization: who may see a project, task or comment (404 — the same answer whether it does
not exist or the caller is not a member, so nothing leaks) and who may act on it (403).

Services call these after validation (contract order: 422 before 404/403) and before they lock
anything, so a caller who may not act never makes the server wait (contract/DECISIONS.md,
"Locks"). Each check is one statement joining the caller's membership (shared.selects)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Forbidden, NotFound
from shared import orm, selects
from shared.problems import ADMINS_ONLY, ONLY_AUTHOR_EDITS, ONLY_AUTHOR_OR_OWNER_DELETES
from shared.vocabulary import Role


def _at_least(role: str | None, minimum: Role) -> Role:
    if role is None:
        raise NotFound()
    granted = Role(role)
    if not granted.at_least(minimum):
        raise Forbidden()
    return granted


async def require_project_role(
    session: AsyncSession, project_id: UUID, user: orm.User, minimum: Role = Role.VIEWER
) -> Role:
    """The caller's role in the project: 404 when not a member, 403 when below `minimum`."""
    role = await session.scalar(selects.MEMBER_ROLE, {"project_id": project_id, "user_id": user.id})
    return _at_least(role, minimum)


async def require_task_role(
    session: AsyncSession, task_id: UUID, user: orm.User, minimum: Role = Role.VIEWER
) -> tuple[UUID, Role]:
    """The task's project and the caller's role there (404 / 403 as above)."""
    standing = (await session.execute(selects.task_standing(task_id, user.id))).first()
    if standing is None:
        raise NotFound()
    project_id, role = standing
    return project_id, _at_least(role, minimum)


async def require_comment_role(
    session: AsyncSession, comment_id: UUID, user: orm.User, minimum: Role = Role.VIEWER
) -> tuple[orm.Comment, UUID, Role]:
    """The comment (author loaded), its task's project and the caller's role there."""
    standing = (await session.execute(selects.comment_standing(comment_id, user.id))).first()
    if standing is None:
        raise NotFound()
    comment, project_id, role = standing
    return comment, project_id, _at_least(role, minimum)


def require_admin(user: orm.User) -> None:
    """`is_admin` grants user creation only, never project access."""
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)


def require_comment_author(comment: orm.Comment, user: orm.User) -> None:
    """A comment is edited by its author only, whatever the role (owners included)."""
    if comment.author_id != user.id:
        raise Forbidden(ONLY_AUTHOR_EDITS)


def require_comment_author_or_owner(comment: orm.Comment, user: orm.User, role: Role) -> None:
    if comment.author_id != user.id and role != Role.OWNER:
        raise Forbidden(ONLY_AUTHOR_OR_OWNER_DELETES)
