"""Projects; the caller's role and the task counts are part of each."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.conditional import IfMatch, IfNoneMatch, conditional_get, with_etag
from impl_litestar.idempotency import idempotent_post
from impl_litestar.openapi import BEARER, NOT_MODIFIED, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.schemas import Page, Project, ProjectCreate, ProjectUpdate
from impl_litestar.services import projects
from impl_litestar.settings import AppSettings
from shared import orm
from shared.vocabulary import Role


class ProjectController(Controller):
    path = "/projects"
    tags = ["projects"]
    security = BEARER

    @idempotent_post(
        "/",
        operation_id="createProject",
        summary="Create a project",
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 409, 415, 422),
    )
    async def create_project(
        self, data: ProjectCreate, db_session: AsyncSession, current_user: orm.User
    ) -> Response[Project]:
        """The caller becomes its owner."""
        project = await projects.create_project(db_session, current_user, data)
        return with_etag(Project.of(project), 201, Location=f"/api/v1/projects/{project.id}")

    @get(
        "/",
        operation_id="listProjects",
        summary="List the caller's projects",
        operation_class=ContractOperation,
        responses=problem_responses(401, 422),
    )
    async def list_projects(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        current_user: orm.User,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[Project]:
        """Newest first."""
        window = await projects.list_projects(
            db_session, settings, current_user, PageParams(limit, cursor)
        )
        return Page([Project.of(project) for project in window.rows], window.next_cursor)

    @get(
        "/{project_id:str}",
        operation_id="getProject",
        summary="Get a project",
        dependencies={"access": project_role()},
        operation_class=ContractOperation,
        responses={304: NOT_MODIFIED, **problem_responses(401, 404, 422)},
    )
    async def get_project(
        self, db_session: AsyncSession, access: ProjectAccess, if_none_match: IfNoneMatch = None
    ) -> Response[Project]:
        project = Project.of(await projects.get_project(db_session, access.user, access.project_id))
        return conditional_get(if_none_match, project)

    @patch(
        "/{project_id:str}",
        operation_id="updateProject",
        summary="Update a project (owner)",
        dependencies={"access": project_role(Role.OWNER)},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 404, 412, 415, 422),
    )
    async def update_project(
        self,
        data: ProjectUpdate,
        db_session: AsyncSession,
        access: ProjectAccess,
        if_match: IfMatch = None,
    ) -> Response[Project]:
        """Absent fields are unchanged; a change bumps the version."""
        project = await projects.update_project(
            db_session, access.user, access.project_id, data, if_match
        )
        return with_etag(Project.of(project))

    @delete(
        "/{project_id:str}",
        operation_id="deleteProject",
        summary="Delete a project (owner)",
        dependencies={"access": project_role(Role.OWNER)},
        operation_class=ContractOperation,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def delete_project(self, db_session: AsyncSession, access: ProjectAccess) -> None:
        """Its members, labels, tasks, comments and activity go with it."""
        await projects.delete_project(db_session, access.project_id)
