"""Projects."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from impl_fastapi.conditional import (
    NOT_MODIFIED,
    IfMatch,
    IfNoneMatch,
    not_modified,
    project_etag,
    set_etag,
)
from impl_fastapi.db import Session
from impl_fastapi.idempotency import idempotent
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import Project, ProjectCreate, ProjectPage, ProjectUpdate, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import projects
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1/projects",
    tags=["projects"],
    route_class=ContractRoute,
    dependencies=AUTHENTICATED,
)


@router.post(
    "",
    operation_id="createProject",
    summary="Create a project",
    status_code=status.HTTP_201_CREATED,
    response_model=Project,
    responses=problem_responses(400, 401, 409, 415, 422),
)
@idempotent
async def create_project(
    body: ProjectCreate, user: CurrentUser, session: Session, response: Response
) -> orm.Project:
    project = await projects.create_project(session, user, body)
    response.headers["Location"] = f"/api/v1/projects/{project.id}"
    set_etag(response, project_etag(project))
    return project


@router.get(
    "",
    operation_id="listProjects",
    summary="List the caller's projects",
    response_model=ProjectPage,
    responses=problem_responses(401, 422),
)
async def list_projects(
    user: CurrentUser, session: Session, settings: SettingsDep, page: PageQuery
) -> Page[orm.Project]:
    return await projects.list_projects(session, settings, user, page)


@router.get(
    "/{project_id}",
    operation_id="getProject",
    summary="Get a project",
    response_model=Project,
    responses=NOT_MODIFIED | problem_responses(401, 404, 422),
)
async def get_project(
    project_id: ResourceId,
    user: CurrentUser,
    session: Session,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> orm.Project | Response:
    project = await projects.get_project(session, user, project_id)
    etag = project_etag(project)
    if (unchanged := not_modified(if_none_match, etag)) is not None:
        return unchanged
    set_etag(response, etag)
    return project


@router.patch(
    "/{project_id}",
    operation_id="updateProject",
    summary="Update a project (owner)",
    response_model=Project,
    responses=problem_responses(400, 401, 403, 404, 412, 415, 422),
)
async def update_project(
    project_id: ResourceId,
    body: ProjectUpdate,
    user: CurrentUser,
    session: Session,
    response: Response,
    if_match: IfMatch = None,
) -> orm.Project:
    project = await projects.update_project(session, user, project_id, body, if_match)
    set_etag(response, project_etag(project))
    return project


@router.delete(
    "/{project_id}",
    operation_id="deleteProject",
    summary="Delete a project (owner)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_project(project_id: ResourceId, user: CurrentUser, session: Session) -> None:
    await projects.delete_project(session, user, project_id)
