"""Projects, seen through the caller's membership (`my_role` and `task_counts` in the statement
that loads them). Updating and deleting a project hold its row FOR UPDATE (contract/DECISIONS.md,
"Locks"), so If-Match is checked against the representation the change applies to."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.conditional import project_etag, require_match
from impl_fastapi.errors import NotFound
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.permissions import require_project_role
from impl_fastapi.schemas import ProjectCreate, ProjectUpdate
from impl_fastapi.services import activity
from impl_fastapi.services.locks import lock_project
from shared import orm, selects
from shared.changes import diff
from shared.cursors import scope
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def _load(session: AsyncSession, user: orm.User, project_id: UUID) -> orm.Project:
    """The project if the user is a member (visibility and the representation in one query)."""
    project = await session.scalar(selects.projects_of(user.id).where(orm.Project.id == project_id))
    if project is None:
        raise NotFound()
    return project


async def list_projects(
    session: AsyncSession, settings: Settings, user: orm.User, params: PageParams
) -> Page[orm.Project]:
    return await paginate(
        session,
        selects.projects_of(user.id),
        selects.PROJECTS_NEWEST_FIRST,
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
    await require_project_role(session, project_id, user, Role.OWNER)
    await lock_project(session, project_id, "update")
    project = await _load(session, user, project_id)
    require_match(if_match, project_etag(project))
    changes = diff({"name": project.name, "description": project.description}, body.model_dump())
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
    return await _load(session, user, project_id)


async def delete_project(session: AsyncSession, user: orm.User, project_id: UUID) -> None:
    await require_project_role(session, project_id, user, Role.OWNER)
    await lock_project(session, project_id, "update")
    # Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE).
    await session.execute(delete(orm.Project).where(orm.Project.id == project_id))
