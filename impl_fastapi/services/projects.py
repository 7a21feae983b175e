"""Projects, seen through the caller's membership (role and task counts included)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import with_expression

from impl_fastapi.errors import NotFound, PreconditionFailed
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.schemas import ProjectCreate, ProjectUpdate
from impl_fastapi.security import require_role
from impl_fastapi.services import activity
from shared import orm
from shared.changes import diff
from shared.cursors import TIMESTAMP, scope
from shared.cursors import UUID as UUID_KEY
from shared.httputil import if_match_fails
from shared.keyset import Key, Keyset
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role, TaskStatus

_NEWEST_FIRST = Keyset(
    (Key(orm.Project.created_at, TIMESTAMP), Key(orm.Project.id, UUID_KEY)), descending=True
)


def _visible_projects(user_id: UUID) -> Select[Any]:
    """Projects the user is a member of, with `my_role` and `task_counts` in the same query
    (a LATERAL aggregate per project row: no extra query per page)."""
    task = orm.Task
    counts = (
        select(
            *(
                func.count().filter(task.status == status.value).label(status.value)
                for status in TaskStatus
            )
        )
        .where(task.project_id == orm.Project.id)
        .lateral("task_counts")
    )
    return (
        select(orm.Project)
        .join(
            orm.ProjectMember,
            (orm.ProjectMember.project_id == orm.Project.id)
            & (orm.ProjectMember.user_id == user_id),
        )
        .join(counts, true())
        .options(
            with_expression(orm.Project.my_role, orm.ProjectMember.role),
            with_expression(orm.Project.todo_count, counts.c.todo),
            with_expression(orm.Project.in_progress_count, counts.c.in_progress),
            with_expression(orm.Project.done_count, counts.c.done),
        )
        .execution_options(populate_existing=True)
    )


async def _load(session: AsyncSession, user: orm.User, project_id: UUID) -> orm.Project:
    project = await session.scalar(_visible_projects(user.id).where(orm.Project.id == project_id))
    if project is None:
        raise NotFound()
    return project


async def list_projects(
    session: AsyncSession, settings: Settings, user: orm.User, params: PageParams
) -> Page[orm.Project]:
    return await paginate(
        session,
        _visible_projects(user.id),
        _NEWEST_FIRST,
        params,
        scope("projects", user_id=user.id),
        settings,
    )


async def get_project(session: AsyncSession, user: orm.User, project_id: UUID) -> orm.Project:
    return await _load(session, user, project_id)


async def create_project(session: AsyncSession, user: orm.User, body: ProjectCreate) -> orm.Project:
    project = orm.Project(name=body.name, description=body.description, created_by=user.id)
    session.add(project)
    await session.flush()  # the id comes from the database
    session.add(orm.ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
    activity.record(
        session,
        project_id=project.id,
        actor=user,
        verb=ActivityVerb.PROJECT_CREATED,
        target_type=ActivityTargetType.PROJECT,
        target_id=project.id,
    )
    await session.flush()
    return await _load(session, user, project.id)


async def update_project(
    session: AsyncSession,
    user: orm.User,
    project_id: UUID,
    body: ProjectUpdate,
    if_match: str | None,
) -> orm.Project:
    await require_role(session, project_id, user, Role.OWNER, lock="update")
    project = await _load(session, user, project_id)
    if if_match_fails(if_match, project.version):
        raise PreconditionFailed()
    requested = body.model_dump()
    changes = diff({"name": project.name, "description": project.description}, requested)
    if changes:
        for field, (_, new) in changes.items():
            setattr(project, field, new)
        project.version += 1
        project.updated_at = func.now()
        activity.record(
            session,
            project_id=project_id,
            actor=user,
            verb=ActivityVerb.PROJECT_UPDATED,
            target_type=ActivityTargetType.PROJECT,
            target_id=project_id,
            changes=changes,
        )
        await session.flush()
        project = await _load(session, user, project_id)
    return project


async def delete_project(session: AsyncSession, user: orm.User, project_id: UUID) -> None:
    await require_role(session, project_id, user, Role.OWNER, lock="update")
    # Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE).
    await session.execute(delete(orm.Project).where(orm.Project.id == project_id))
