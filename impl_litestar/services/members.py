"""Project membership and roles. Every change runs under the project row's update lock, so two
concurrent requests never both remove (or demote) one of two owners and leave none, and a
member removed is never assigned by a concurrent task write (contract/DECISIONS.md, "Locks")."""

from __future__ import annotations

import uuid

from litestar.exceptions import NotFoundException
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import ConflictException
from impl_litestar.services import activity
from impl_litestar.services.locks import lock_project
from shared import problems, selects
from shared.orm import ProjectMember, Task, User
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def list_members(session: AsyncSession, project_id: uuid.UUID) -> list[ProjectMember]:
    """By display name, then user id."""
    return list(await session.scalars(selects.members_of(project_id)))


async def _is_last_owner(
    session: AsyncSession, project_id: uuid.UUID, member: ProjectMember
) -> bool:
    return member.role == Role.OWNER and await session.scalar(selects.owner_count(project_id)) == 1


async def put_member(
    session: AsyncSession, actor: User, project_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> tuple[ProjectMember, bool]:
    """Add the user with `role` (True) or set their role (False); the same role is no change."""
    await lock_project(session, project_id, "update")
    if await session.get(User, user_id) is None:
        raise NotFoundException(detail=problems.NO_SUCH_USER)
    member = await session.scalar(selects.member(project_id, user_id))
    if member is None:
        session.add(ProjectMember(project_id=project_id, user_id=user_id, role=role))
        activity.record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.MEMBER_ADDED,
            target_type=ActivityTargetType.MEMBER,
            target_id=user_id,
        )
        await session.flush()
        added = await session.scalar(selects.member(project_id, user_id))
        assert added is not None
        return added, True
    if member.role != role:
        if await _is_last_owner(session, project_id, member):
            raise ConflictException(detail=problems.LAST_OWNER)
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
    session: AsyncSession, actor: User, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """The last owner stays (409); the member's assignments in the project are cleared."""
    await lock_project(session, project_id, "update")
    member = await session.scalar(selects.member(project_id, user_id))
    if member is None:
        raise NotFoundException(detail=problems.NO_SUCH_MEMBER)
    if await _is_last_owner(session, project_id, member):
        raise ConflictException(detail=problems.LAST_OWNER)
    await session.delete(member)
    # One statement for all their tasks: unassigned, a new version, and each its entry.
    unassigned = await session.scalars(
        update(Task)
        .where(Task.project_id == project_id, Task.assignee_id == user_id)
        .values(assignee_id=None, version=Task.version + 1, updated_at=func.now())
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    )
    await activity.record_task_updates(
        session,
        project_id=project_id,
        actor=actor,
        changes_by_task={task_id: {"assignee_id": [str(user_id), None]} for task_id in unassigned},
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
