"""Tasks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from impl_fastapi.conditional import (
    NOT_MODIFIED,
    IfMatch,
    IfNoneMatch,
    not_modified,
    set_etag,
    task_etag,
)
from impl_fastapi.db import Session
from impl_fastapi.idempotency import idempotent
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import (
    IsoDate,
    NulFree,
    QueryUUID,
    ResourceId,
    SearchText,
    Task,
    TaskCreate,
    TaskPage,
    TaskUpdate,
)
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import tasks
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared import orm
from shared.tasklist import TaskFilters
from shared.vocabulary import TaskPriority, TaskSort, TaskStatus

router = APIRouter(
    prefix="/api/v1", tags=["tasks"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


async def task_filters(  # async: no threadpool hop (settings.py)
    status: Annotated[
        list[Annotated[TaskStatus, NulFree]], Query(description="Any of these (repeatable).")
    ] = [],  # noqa: B006
    priority: Annotated[
        list[Annotated[TaskPriority, NulFree]], Query(description="Any of these (repeatable).")
    ] = [],  # noqa: B006
    assignee_id: Annotated[QueryUUID | None, Query(description="Assigned to this user.")] = None,
    label_id: Annotated[QueryUUID | None, Query(description="Has this label.")] = None,
    due_before: Annotated[
        IsoDate | None, Query(description="Due strictly before this date.")
    ] = None,
    q: Annotated[SearchText | None, Query(description="Substring of the title.")] = None,
    sort: Annotated[TaskSort, NulFree, Query(description="Sort order.")] = TaskSort.NEWEST,
) -> TaskFilters:
    return TaskFilters(tuple(status), tuple(priority), assignee_id, label_id, due_before, q, sort)


@router.post(
    "/projects/{project_id}/tasks",
    operation_id="createTask",
    summary="Create a task (editor+)",
    status_code=status.HTTP_201_CREATED,
    response_model=Task,
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422),
)
@idempotent
async def create_task(
    project_id: ResourceId,
    body: TaskCreate,
    user: CurrentUser,
    session: Session,
    settings: SettingsDep,
    response: Response,
) -> orm.Task:
    task = await tasks.create_task(session, settings, user, project_id, body)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    set_etag(response, task_etag(task))
    return task


@router.get(
    "/projects/{project_id}/tasks",
    operation_id="listTasks",
    summary="List and filter the tasks of a project",
    response_model=TaskPage,
    responses=problem_responses(401, 404, 422),
)
async def list_tasks(
    project_id: ResourceId,
    filters: Annotated[TaskFilters, Depends(task_filters)],
    page: PageQuery,
    user: CurrentUser,
    session: Session,
    settings: SettingsDep,
) -> Page[dict[str, Any]]:
    return await tasks.list_tasks(session, settings, user, project_id, filters, page)


@router.get(
    "/tasks/{task_id}",
    operation_id="getTask",
    summary="Get a task",
    response_model=Task,
    responses=NOT_MODIFIED | problem_responses(401, 404, 422),
)
async def get_task(
    task_id: ResourceId,
    user: CurrentUser,
    session: Session,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> Task | Response:
    task = await tasks.get_task(session, user, task_id)
    etag = task_etag(task)
    if (unchanged := not_modified(if_none_match, etag)) is not None:
        return unchanged
    set_etag(response, etag)
    return task


@router.patch(
    "/tasks/{task_id}",
    operation_id="updateTask",
    summary="Update a task (editor+)",
    response_model=Task,
    responses=problem_responses(400, 401, 403, 404, 412, 415, 422),
)
async def update_task(
    task_id: ResourceId,
    body: TaskUpdate,
    user: CurrentUser,
    session: Session,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> orm.Task:
    task = await tasks.update_task(session, settings, user, task_id, body, if_match)
    set_etag(response, task_etag(task))
    return task


@router.delete(
    "/tasks/{task_id}",
    operation_id="deleteTask",
    summary="Delete a task (editor+)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 412, 422),
)
async def delete_task(
    task_id: ResourceId, user: CurrentUser, session: Session, if_match: IfMatch = None
) -> None:
    await tasks.delete_task(session, user, task_id, if_match)
