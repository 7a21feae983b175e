"""Tasks: created and listed under their project, addressed by id afterwards."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.conditional import IfMatch, IfNoneMatch, conditional_get, with_etag
from impl_litestar.idempotency import idempotent_post
from impl_litestar.openapi import BEARER, NOT_MODIFIED, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.permissions import ProjectAccess, TaskAccess, project_role, task_role
from impl_litestar.schemas import Page, Task, TaskCreate, TaskUpdate
from impl_litestar.services import tasks
from impl_litestar.settings import AppSettings
from shared.orm import User
from shared.tasklist import TaskFilters
from shared.vocabulary import SEARCH_MAX_LENGTH, Role, TaskPriority, TaskSort, TaskStatus


class TaskController(Controller):
    path = "/"
    tags = ["tasks"]
    security = BEARER

    @idempotent_post(
        "/projects/{project_id:str}/tasks",
        operation_id="createTask",
        summary="Create a task (editor+)",
        dependencies={"access": project_role(Role.EDITOR)},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def create_task(
        self,
        data: TaskCreate,
        db_session: AsyncSession,
        settings: AppSettings,
        access: ProjectAccess,
    ) -> Response[Task]:
        """The assignee must be a member and the labels of this project (422 otherwise)."""
        task = await tasks.create_task(db_session, settings, access.user, access.project_id, data)
        return with_etag(Task.of(task), 201, Location=f"/api/v1/tasks/{task.id}")

    @get(
        "/projects/{project_id:str}/tasks",
        operation_id="listTasks",
        summary="List and filter the tasks of a project",
        dependencies={"access": project_role()},
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def list_tasks(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        access: ProjectAccess,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: Annotated[
            list[TaskStatus] | None,
            Parameter(description="Any of these statuses (repeat the parameter)."),
        ] = None,
        priority: Annotated[
            list[TaskPriority] | None,
            Parameter(description="Any of these priorities (repeat the parameter)."),
        ] = None,
        assignee_id: Annotated[UUID | None, Parameter(description="Assigned to this user.")] = None,
        label_id: Annotated[UUID | None, Parameter(description="Has this label.")] = None,
        due_before: Annotated[
            date | None, Parameter(description="Due strictly before this date.")
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=SEARCH_MAX_LENGTH,
                description="Case-insensitive substring of the title.",
            ),
        ] = None,
        sort: Annotated[TaskSort, Parameter(description="Sort order.")] = TaskSort.NEWEST,
    ) -> Page[Task]:
        """Filters combine with AND; repeated values of one filter are any-of."""
        filters = TaskFilters(
            status=status or (),
            priority=priority or (),
            assignee_id=assignee_id,
            label_id=label_id,
            due_before=due_before,
            q=q,
            sort=sort,
        )
        return await tasks.list_tasks(
            db_session, settings, access.project_id, filters, PageParams(limit, cursor)
        )

    @get(
        "/tasks/{task_id:str}",
        operation_id="getTask",
        summary="Get a task",
        operation_class=ContractOperation,
        responses={304: NOT_MODIFIED, **problem_responses(401, 404, 422)},
    )
    async def get_task(
        self,
        task_id: UUID,
        db_session: AsyncSession,
        current_user: User,
        if_none_match: IfNoneMatch = None,
    ) -> Response[Task]:
        """Visible to members of its project (404 for anyone else)."""
        task = await tasks.read_task(db_session, task_id, current_user)
        return conditional_get(if_none_match, task)

    @patch(
        "/tasks/{task_id:str}",
        operation_id="updateTask",
        summary="Update a task (editor+)",
        dependencies={"access": task_role(Role.EDITOR)},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 404, 412, 415, 422),
    )
    async def update_task(
        self,
        data: TaskUpdate,
        db_session: AsyncSession,
        settings: AppSettings,
        access: TaskAccess,
        if_match: IfMatch = None,
    ) -> Response[Task]:
        """Absent = unchanged, null clears, label_ids replaces the set."""
        task = await tasks.update_task(
            db_session, settings, access.user, access.project_id, access.task_id, data, if_match
        )
        return with_etag(Task.of(task))

    @delete(
        "/tasks/{task_id:str}",
        operation_id="deleteTask",
        summary="Delete a task (editor+)",
        dependencies={"access": task_role(Role.EDITOR)},
        operation_class=ContractOperation,
        responses=problem_responses(401, 403, 404, 412, 422),
    )
    async def delete_task(
        self, db_session: AsyncSession, access: TaskAccess, if_match: IfMatch = None
    ) -> None:
        """Its comments go with it."""
        await tasks.delete_task(
            db_session, access.user, access.project_id, access.task_id, if_match
        )
