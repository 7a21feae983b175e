"""Project membership. Every change holds the project row FOR UPDATE (contract/DECISIONS.md,
"Locks"): two owners demoting each other never leave a project without one, and no task write
assigns a member while they are being removed."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.permissions import require_project_role
from impl_fastapi.services import activity
from impl_fastapi.services.locks import lock_project
from shared import orm, selects
from shared.problems import LAST_OWNER, NO_SUCH_MEMBER, NO_SUCH_USER
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def _is_last_owner(session: AsyncSession, member: orm.ProjectMember) -> bool:
    if member.role != Role.OWNER:
        return False
    return await session.scalar(selects.owner_count(member.project_id)) == 1


async def list_members(
    session: AsyncSession, user: orm.User, project_id: UUID
) -> list[orm.ProjectMember]:
    await require_project_role(session, project_id, user, Role.VIEWER)
    return list(await session.scalars(selects.members_of(project_id)))


async def put_member(
    session: AsyncSession, actor: orm.User, project_id: UUID, user_id: UUID, role: Role
) -> tuple[orm.ProjectMember, bool]:
    """Add the user with `role` or set their role; True when the user was added."""
    await require_project_role(session, project_id, actor, Role.OWNER)
    await lock_project(session, project_id, "update")
    if await session.get(orm.User, user_id) is None:
        raise NotFound(NO_SUCH_USER)
    member = await session.scalar(selects.member(project_id, user_id))
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
        added = await session.scalar(selects.member(project_id, user_id))
        assert added is not None
        return added, True
    if member.role != role:
        if await _is_last_owner(session, member):
            raise Conflict(LAST_OWNER)
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
    await require_project_role(session, project_id, actor, Role.OWNER)
    await lock_project(session, project_id, "update")
    member = await session.scalar(selects.member(project_id, user_id))
    if member is None:
        raise NotFound(NO_SUCH_MEMBER)
    if await _is_last_owner(session, member):
        raise Conflict(LAST_OWNER)
    await session.delete(member)
    # One statement for all of the member's tasks (unassigned: a new version each), then their
    # `task.updated` entries before `member.removed` (DECISIONS, "Behaviour details").
    unassigned = await session.scalars(
        update(orm.Task)
        .where(orm.Task.project_id == project_id, orm.Task.assignee_id == user_id)
        .values(assignee_id=None, version=orm.Task.version + 1, updated_at=func.now())
        .returning(orm.Task.id)
        .execution_options(synchronize_session=False)
    )
    await activity.record_task_updates(
        session,
        project_id=project_id,
        actor=actor,
        changes_by_task=[
            (task_id, {"assignee_id": [str(user_id), None]}) for task_id in unassigned.all()
        ],
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
