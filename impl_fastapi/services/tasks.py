"""Tasks: create, read, filter and sort, update with If-Match, delete.

Every write takes the same steps in the same order (contract/DECISIONS.md, "Locks"): who may
act (404/403, no lock) → the project row FOR SHARE → the task row FOR UPDATE → references (422)
→ If-Match (412) → the change and its activity entry, in the request's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.conditional import require_match, task_etag
from impl_fastapi.errors import InvalidReference, NotFound
from impl_fastapi.pagination import Page, PageParams, paginate_rows
from impl_fastapi.permissions import require_project_role, require_task_role
from impl_fastapi.schemas import Task, TaskCreate, TaskUpdate
from impl_fastapi.services import activity, notifications
from impl_fastapi.services.locks import lock_project, lock_task
from shared import orm, selects
from shared.changes import diff, request_form, task_request_form
from shared.problems import ASSIGNEE_NOT_MEMBER, LABEL_NOT_IN_PROJECT
from shared.settings import Settings
from shared.tasklist import TaskFilters
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def _load(session: AsyncSession, task_id: UUID) -> orm.Task:
    task = await session.scalar(selects.task(task_id))
    if task is None:
        raise NotFound()
    return task


async def _referenced_labels(
    session: AsyncSession, project_id: UUID, assignee_id: UUID | None, label_ids: list[UUID] | None
) -> list[orm.Label]:
    """422 invalid_reference for an assignee who is not a member or a label of another
    project; returns the labels, in request order."""
    bad: list[tuple[tuple[str | int, ...], str]] = []
    if assignee_id is not None and (
        await session.scalar(selects.member_role(project_id, assignee_id)) is None
    ):
        bad.append((("body", "assignee_id"), ASSIGNEE_NOT_MEMBER))
    labels: dict[UUID, orm.Label] = {}
    if label_ids:
        found = await session.scalars(selects.labels_among(project_id, label_ids))
        labels = {label.id: label for label in found}
        bad.extend(
            (("body", "label_ids", index), LABEL_NOT_IN_PROJECT)
            for index, label_id in enumerate(label_ids)
            if label_id not in labels
        )
    if bad:
        raise InvalidReference(bad)
    return [labels[label_id] for label_id in label_ids or []]


async def _representations(session: AsyncSession, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """Rows of selects.task_rows as the representation's fields, their labels read in one
    statement for all of them. Plain dicts: the response model validates them as they are,
    with no ORM object, identity map or relationship collection on the way."""
    if not rows:
        return []
    labels = selects.labels_by_task(
        await session.execute(selects.LABELS_OF_TASKS, {"task_ids": [row.id for row in rows]})
    )
    return [{**row._mapping, "labels": labels.get(row.id, [])} for row in rows]


async def list_tasks(
    session: AsyncSession,
    settings: Settings,
    user: orm.User,
    project_id: UUID,
    filters: TaskFilters,
    params: PageParams,
) -> Page[dict[str, Any]]:
    await require_project_role(session, project_id, user, Role.VIEWER)
    statement, parameters = selects.task_list_page(project_id, filters)
    page = await paginate_rows(
        session,
        statement,
        parameters,
        selects.TASK_SORTS[filters.sort],
        params,
        filters.cursor_scope(project_id),
        settings,
    )
    return Page(await _representations(session, page.items), page.next_cursor)


async def get_task(session: AsyncSession, user: orm.User, task_id: UUID) -> Task:
    """The task if the caller may see it (any role reads): visibility and the task are one
    statement. Validated here, once: its ETag and the response are computed from this model."""
    parameters = {"task_id": task_id, "user_id": user.id}
    row = (await session.execute(selects.TASK_ROW, parameters)).first()
    if row is None:
        raise NotFound()
    [task] = await _representations(session, [row])
    return Task.model_validate(task)


async def create_task(
    session: AsyncSession, settings: Settings, user: orm.User, project_id: UUID, body: TaskCreate
) -> orm.Task:
    await require_project_role(session, project_id, user, Role.EDITOR)
    await lock_project(session, project_id, "share")
    labels = await _referenced_labels(session, project_id, body.assignee_id, body.label_ids)
    task = orm.Task(
        project_id=project_id,
        title=body.title,
        description=body.description,
        status=body.status.value,
        priority=body.priority.value,
        assignee_id=body.assignee_id,
        due_date=body.due_date,
        created_by_id=user.id,
        labels=labels,
    )
    session.add(task)
    await session.flush()
    if body.assignee_id is not None:
        await notifications.notify_assignee(
            session,
            settings,
            task_id=task.id,
            project_id=project_id,
            assignee_id=body.assignee_id,
            actor=user,
        )
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.TASK_CREATED,
        target_type=ActivityTargetType.TASK,
        target_id=task.id,
    )
    await session.flush()
    return await _load(session, task.id)


async def update_task(
    session: AsyncSession,
    settings: Settings,
    user: orm.User,
    task_id: UUID,
    body: TaskUpdate,
    if_match: str | None,
) -> orm.Task:
    project_id, _ = await require_task_role(session, task_id, user, Role.EDITOR)
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id)
    requested = body.model_dump(mode="json")  # only the fields present (absent = MISSING)
    labels = await _referenced_labels(
        session,
        project_id,
        body.assignee_id if "assignee_id" in requested else None,
        body.label_ids if "label_ids" in requested else None,
    )
    task = await _load(session, task_id)  # as of the lock: If-Match and `changes` compare it
    require_match(if_match, task_etag(task))
    changes = diff(
        task_request_form(task, [label.id for label in task.labels]), request_form(requested)
    )
    if not changes:
        return task
    for field in changes.keys() - {"label_ids"}:
        setattr(task, field, getattr(body, field))
    if "label_ids" in changes:
        task.labels = labels
    task.version += 1
    task.updated_at = func.now()
    if "assignee_id" in changes and body.assignee_id is not None:
        await notifications.notify_assignee(
            session,
            settings,
            task_id=task_id,
            project_id=project_id,
            assignee_id=body.assignee_id,
            actor=user,
        )
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.TASK_UPDATED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
        changes=changes,
    )
    await session.flush()
    return await _load(session, task_id)


async def delete_task(
    session: AsyncSession, user: orm.User, task_id: UUID, if_match: str | None
) -> None:
    project_id, _ = await require_task_role(session, task_id, user, Role.EDITOR)
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id)
    if if_match is not None:
        require_match(if_match, task_etag(await _load(session, task_id)))
    await session.execute(delete(orm.Task).where(orm.Task.id == task_id))
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.TASK_DELETED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
    )
