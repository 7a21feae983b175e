"""Projects: the caller's role and the task counts come with each (shared.selects.projects_of)."""

from __future__ import annotations

import uuid

import msgspec
from litestar.exceptions import NotFoundException
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.conditional import check_if_match
from impl_litestar.pagination import PageParams, Window, paginate
from impl_litestar.schemas import Project as ProjectRepresentation
from impl_litestar.schemas import ProjectCreate, ProjectUpdate
from impl_litestar.services import activity
from impl_litestar.services.locks import lock_project
from shared import selects
from shared.changes import diff
from shared.cursors import scope
from shared.orm import Project, ProjectMember, User
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def list_projects(
    session: AsyncSession, settings: Settings, user: User, params: PageParams
) -> Window:
    """The caller's projects, newest first."""
    return await paginate(
        session,
        selects.projects_of(user.id),
        selects.PROJECTS_NEWEST_FIRST,
        params,
        scope("projects", user_id=user.id),
        settings,
    )


async def get_project(session: AsyncSession, user: User, project_id: uuid.UUID) -> Project:
    statement = selects.projects_of(user.id).where(Project.id == project_id)
    if (project := await session.scalar(statement)) is None:
        raise NotFoundException()
    return project


async def create_project(session: AsyncSession, user: User, body: ProjectCreate) -> Project:
    """The caller becomes its owner; one `project.created` entry (no `member.added`)."""
    project = Project(name=body.name, description=body.description, created_by=user.id)
    session.add(project)
    await session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
    activity.record(
        session,
        project_id=project.id,
        actor=user,
        verb=ActivityVerb.PROJECT_CREATED,
        target_type=ActivityTargetType.PROJECT,
        target_id=project.id,
    )
    await session.flush()
    return await get_project(session, user, project.id)


async def update_project(
    session: AsyncSession,
    user: User,
    project_id: uuid.UUID,
    body: ProjectUpdate,
    if_match: str | None,
) -> Project:
    """Absent fields are unchanged; a change bumps the version, no change is no activity."""
    await lock_project(session, project_id, "update")
    project = await get_project(session, user, project_id)
    check_if_match(if_match, ProjectRepresentation.of(project))  # the caller's, under the lock
    requested = {
        name: value
        for name, value in (("name", body.name), ("description", body.description))
        if value is not msgspec.UNSET
    }
    changes = diff({"name": project.name, "description": project.description}, requested)
    if not changes:
        return project
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
    return await get_project(session, user, project_id)


async def delete_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """ON DELETE CASCADE takes members, labels, tasks, comments and activity along."""
    await lock_project(session, project_id, "update")
    await session.execute(delete(Project).where(Project.id == project_id))
