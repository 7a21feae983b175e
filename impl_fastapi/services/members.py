"""Project membership. Every change runs under the project row lock, so two concurrent requests
can never both remove (or demote) "one of two" owners and leave none."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.security import require_role
from impl_fastapi.services import activity
from shared import orm
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role

_LAST_OWNER = "A project must keep at least one owner."


async def _owner_count(session: AsyncSession, project_id: UUID) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(orm.ProjectMember)
            .where(orm.ProjectMember.project_id == project_id, orm.ProjectMember.role == Role.OWNER)
        )
        or 0
    )


async def _membership(
    session: AsyncSession, project_id: UUID, user_id: UUID
) -> orm.ProjectMember | None:
    return await session.scalar(
        select(orm.ProjectMember)
        .where(orm.ProjectMember.project_id == project_id, orm.ProjectMember.user_id == user_id)
        .options(joinedload(orm.ProjectMember.user))
    )


async def list_members(
    session: AsyncSession, user: orm.User, project_id: UUID
) -> list[orm.ProjectMember]:
    await require_role(session, project_id, user, Role.VIEWER)
    result = await session.scalars(
        select(orm.ProjectMember)
        .join(orm.ProjectMember.user)
        .where(orm.ProjectMember.project_id == project_id)
        .options(joinedload(orm.ProjectMember.user))
        .order_by(orm.User.display_name, orm.User.id)
    )
    return list(result)


async def put_member(
    session: AsyncSession, actor: orm.User, project_id: UUID, user_id: UUID, role: Role
) -> tuple[orm.ProjectMember, bool]:
    """Add the user with `role` or set their role; True when the user was added."""
    await require_role(session, project_id, actor, Role.OWNER, lock="update")
    if await session.get(orm.User, user_id) is None:
        raise NotFound("No such user.")
    member = await _membership(session, project_id, user_id)
    if member is None:
        session.add(orm.ProjectMember(project_id=project_id, user_id=user_id, role=role))
        activity.record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.MEMBER_ADDED,
            target_type=ActivityTargetType.MEMBER,
            target_id=user_id,
        )
        await session.flush()
        added = await _membership(session, project_id, user_id)
        assert added is not None
        return added, True
    if member.role != role:
        if member.role == Role.OWNER and await _owner_count(session, project_id) == 1:
            raise Conflict(_LAST_OWNER)
        activity.record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.MEMBER_UPDATED,
            target_type=ActivityTargetType.MEMBER,
            target_id=user_id,
            changes={"role": [member.role, role.value]},
        )
        member.role = role.value
        await session.flush()
    return member, False


async def remove_member(
    session: AsyncSession, actor: orm.User, project_id: UUID, user_id: UUID
) -> None:
    await require_role(session, project_id, actor, Role.OWNER, lock="update")
    member = await _membership(session, project_id, user_id)
    if member is None:
        raise NotFound("No such member.")
    if member.role == Role.OWNER and await _owner_count(session, project_id) == 1:
        raise Conflict(_LAST_OWNER)
    await session.delete(member)
    # One statement for all of the member's tasks: unassigned, and their representation changed.
    await session.execute(
        update(orm.Task)
        .where(orm.Task.project_id == project_id, orm.Task.assignee_id == user_id)
        .values(assignee_id=None, version=orm.Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.MEMBER_REMOVED,
        target_type=ActivityTargetType.MEMBER,
        target_id=user_id,
    )
    await session.flush()


__all__ = ["list_members", "put_member", "remove_member"]
