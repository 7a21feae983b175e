"""Tasks: create, read, filter and sort, update with If-Match, delete."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.conditional import check_if_match
from impl_litestar.errors import RequestValidationFailed, invalid_reference
from impl_litestar.pagination import PageParams, paginate_rows
from impl_litestar.schemas import Page, TaskCreate, TaskUpdate
from impl_litestar.schemas import Task as TaskRepresentation
from impl_litestar.services import activity, notifications
from impl_litestar.services.locks import lock_project, lock_task
from shared import problems, selects
from shared.changes import diff, request_form, task_request_form
from shared.orm import Label, Task, User
from shared.settings import Settings
from shared.tasklist import TaskFilters
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
)


async def list_tasks(
    session: AsyncSession,
    settings: Settings,
    project_id: uuid.UUID,
    filters: TaskFilters,
    params: PageParams,
) -> Page[TaskRepresentation]:
    """A page of the project's tasks, read as rows (no ORM entities): two statements."""
    keyset = selects.TASK_SORTS[filters.sort]
    page, parameters = selects.task_list_page(project_id, filters)
    window = await paginate_rows(
        session, page, parameters, keyset, params, filters.cursor_scope(project_id), settings
    )
    return Page(await _representations(session, window.rows), window.next_cursor)


async def read_task(session: AsyncSession, task_id: uuid.UUID, user: User) -> TaskRepresentation:
    """The task if `user` may see it (any member reads), else 404: visibility and the task in
    one statement, its labels in a second."""
    row = (
        await session.execute(selects.TASK_ROW, {"task_id": task_id, "user_id": user.id})
    ).first()
    if row is None:
        raise NotFoundException()
    return (await _representations(session, [row]))[0]


async def _representations(session: AsyncSession, rows: list[Any]) -> list[TaskRepresentation]:
    """The representations of `task_rows` rows, their labels in one statement for all."""
    if not rows:
        return []
    labels = selects.labels_by_task(
        await session.execute(selects.LABELS_OF_TASKS, {"task_ids": [row.id for row in rows]})
    )
    return [TaskRepresentation.of_row(row, labels.get(row.id, [])) for row in rows]


async def get_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    if (task := await session.scalar(selects.task(task_id))) is None:
        raise NotFoundException()
    return task


async def _check_references(
    session: AsyncSession,
    project_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    label_ids: list[uuid.UUID] | None,
) -> list[Label]:
    """The labels named by `label_ids`, in request order; 422 invalid_reference for an assignee
    who is not a member or a label of another project (every bad reference listed)."""
    errors = []
    if (
        assignee_id is not None
        and await session.scalar(selects.member_role(project_id, assignee_id)) is None
    ):
        errors.append(invalid_reference(["body", "assignee_id"], problems.ASSIGNEE_NOT_MEMBER))
    found: dict[uuid.UUID, Label] = {}
    if label_ids:
        labels = await session.scalars(selects.labels_among(project_id, label_ids))
        found = {label.id: label for label in labels}
        errors.extend(
            invalid_reference(["body", "label_ids", index], problems.LABEL_NOT_IN_PROJECT)
            for index, label_id in enumerate(label_ids)
            if label_id not in found
        )
    if errors:
        raise RequestValidationFailed(errors)
    return [found[label_id] for label_id in label_ids or []]


async def create_task(
    session: AsyncSession, settings: Settings, actor: User, project_id: uuid.UUID, body: TaskCreate
) -> Task:
    """The assignee must be a member and the labels of this project (422 otherwise); they are
    notified (unless they assigned themselves)."""
    await lock_project(session, project_id, "share")
    labels = await _check_references(session, project_id, body.assignee_id, body.label_ids)
    task = Task(
        project_id=project_id,
        title=body.title,
        description=body.description,
        status=body.status,
        priority=body.priority,
        assignee_id=body.assignee_id,
        due_date=body.due_date,
        created_by_id=actor.id,
        labels=labels,
    )
    session.add(task)
    await session.flush()
    await notifications.notify_assignee(
        session,
        settings,
        task_id=task.id,
        project_id=project_id,
        assignee_id=body.assignee_id,
        actor=actor,
    )
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_CREATED,
        target_type=ActivityTargetType.TASK,
        target_id=task.id,
    )
    await session.flush()
    return await get_task(session, task.id)


async def update_task(
    session: AsyncSession,
    settings: Settings,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    body: TaskUpdate,
    if_match: str | None,
) -> Task:
    """Absent = unchanged, null clears, label_ids replaces the set; no change, no new version.
    A new assignee is notified (unless they assigned themselves)."""
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id)
    requested = {
        name: value
        for name, value in msgspec.structs.asdict(body).items()
        if value is not msgspec.UNSET
    }
    labels = await _check_references(
        session, project_id, requested.get("assignee_id"), requested.get("label_ids")
    )
    task = await get_task(session, task_id)
    check_if_match(if_match, TaskRepresentation.of(task))
    changes = diff(
        task_request_form(task, [label.id for label in task.labels]),
        request_form(msgspec.to_builtins(requested)),  # request form: uuids and dates as strings
    )
    if not changes:
        return task
    for field in changes.keys() - {"label_ids"}:
        setattr(task, field, requested[field])
    if "label_ids" in changes:
        task.labels = labels
    task.version += 1
    task.updated_at = func.now()
    if "assignee_id" in changes:
        await notifications.notify_assignee(
            session,
            settings,
            task_id=task_id,
            project_id=project_id,
            assignee_id=requested["assignee_id"],
            actor=actor,
        )
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_UPDATED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
        changes=changes,
    )
    await session.flush()
    return await get_task(session, task_id)


async def delete_task(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: str | None,
) -> None:
    """Its comments go with it."""
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id)
    if if_match is not None:  # the representation under the lock, before the row goes
        check_if_match(if_match, TaskRepresentation.of(await get_task(session, task_id)))
    await session.execute(delete(Task).where(Task.id == task_id))
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_DELETED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
    )
    await session.flush()
