"""Tasks: create, read, filter and sort, update with If-Match, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload, with_expression

from impl_fastapi.errors import InvalidReference, NotFound, PreconditionFailed
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.schemas import TaskCreate, TaskUpdate
from impl_fastapi.security import require_role
from impl_fastapi.services import activity
from shared import orm
from shared.changes import diff, request_form, task_request_form
from shared.cursors import DATE, INT, TIMESTAMP
from shared.cursors import UUID as UUID_KEY
from shared.httputil import if_match_fails, like_escape
from shared.keyset import Key, Keyset
from shared.problems import ASSIGNEE_NOT_MEMBER, LABEL_NOT_IN_PROJECT
from shared.settings import Settings
from shared.tasklist import TaskFilters
from shared.vocabulary import (
    ActivityTargetType,
    ActivityVerb,
    Role,
    TaskSort,
)

Task = orm.Task
_ID = Key(Task.id, UUID_KEY)
_SORTS: dict[TaskSort, Keyset] = {
    TaskSort.NEWEST: Keyset((Key(Task.created_at, TIMESTAMP), _ID), descending=True),
    TaskSort.OLDEST: Keyset((Key(Task.created_at, TIMESTAMP), _ID)),
    TaskSort.DUE_SOONEST: Keyset((Key(Task.due_date, DATE, nullable=True), _ID)),
    TaskSort.DUE_LATEST: Keyset((Key(Task.due_date, DATE, nullable=True), _ID), descending=True),
    TaskSort.PRIORITY_LOWEST: Keyset((Key(Task.priority_rank, INT), _ID)),
    TaskSort.PRIORITY_HIGHEST: Keyset((Key(Task.priority_rank, INT), _ID), descending=True),
}


def _tasks() -> Select[Any]:
    """Tasks with everything their representation embeds, in a fixed number of statements
    whatever the page size: users joined, labels in one SELECT ... IN, the comment count as a
    correlated subquery."""
    comment_count = (
        select(func.count()).where(orm.Comment.task_id == Task.id).correlate(Task).scalar_subquery()
    )
    return (
        select(Task)
        .options(
            joinedload(Task.assignee),
            joinedload(Task.created_by),
            selectinload(Task.labels),
            with_expression(Task.comment_count, comment_count),
        )
        .execution_options(populate_existing=True)
    )


async def _load(session: AsyncSession, task_id: UUID) -> orm.Task:
    task = await session.scalar(_tasks().where(Task.id == task_id))
    if task is None:
        raise NotFound()
    return task


async def _project_of(session: AsyncSession, task_id: UUID) -> UUID:
    project_id = await session.scalar(select(Task.project_id).where(Task.id == task_id))
    if project_id is None:
        raise NotFound()
    return project_id


async def _lock(session: AsyncSession, task_id: UUID) -> orm.Task:
    """The task, row-locked until commit, so If-Match is checked against the version the
    update is applied to."""
    task = await session.scalar(_tasks().where(Task.id == task_id).with_for_update(of=Task))
    if task is None:
        raise NotFound()
    return task


async def _check_references(
    session: AsyncSession, project_id: UUID, assignee_id: UUID | None, label_ids: list[UUID] | None
) -> list[orm.Label]:
    """422 invalid_reference for an assignee who is not a member or a label of another
    project; returns the labels, in request order."""
    bad: list[tuple[tuple[str | int, ...], str]] = []
    if assignee_id is not None:
        is_member = await session.scalar(
            select(orm.ProjectMember.user_id).where(
                orm.ProjectMember.project_id == project_id, orm.ProjectMember.user_id == assignee_id
            )
        )
        if is_member is None:
            bad.append((("body", "assignee_id"), ASSIGNEE_NOT_MEMBER))
    labels: dict[UUID, orm.Label] = {}
    if label_ids:
        found = await session.scalars(
            select(orm.Label).where(orm.Label.project_id == project_id, orm.Label.id.in_(label_ids))
        )
        labels = {label.id: label for label in found}
        bad.extend(
            (("body", "label_ids", index), LABEL_NOT_IN_PROJECT)
            for index, label_id in enumerate(label_ids)
            if label_id not in labels
        )
    if bad:
        raise InvalidReference(bad)
    return [labels[label_id] for label_id in label_ids or []]


async def list_tasks(
    session: AsyncSession,
    settings: Settings,
    user: orm.User,
    project_id: UUID,
    filters: TaskFilters,
    params: PageParams,
) -> Page[orm.Task]:
    await require_role(session, project_id, user, Role.VIEWER)
    statement = _tasks().where(Task.project_id == project_id)
    if filters.status:
        statement = statement.where(Task.status.in_([s.value for s in filters.status]))
    if filters.priority:
        statement = statement.where(Task.priority.in_([p.value for p in filters.priority]))
    if filters.assignee_id is not None:
        statement = statement.where(Task.assignee_id == filters.assignee_id)
    if filters.label_id is not None:
        statement = statement.where(Task.labels.any(orm.Label.id == filters.label_id))
    if filters.due_before is not None:
        statement = statement.where(Task.due_date < filters.due_before)  # NULL never matches
    if filters.q is not None:
        statement = statement.where(Task.title.ilike(f"%{like_escape(filters.q)}%", escape="\\"))
    list_scope = filters.cursor_scope(project_id)
    return await paginate(session, statement, _SORTS[filters.sort], params, list_scope, settings)


async def get_task(session: AsyncSession, user: orm.User, task_id: UUID) -> orm.Task:
    await require_role(session, await _project_of(session, task_id), user, Role.VIEWER)
    return await _load(session, task_id)


async def create_task(
    session: AsyncSession, user: orm.User, project_id: UUID, body: TaskCreate
) -> orm.Task:
    await require_role(session, project_id, user, Role.EDITOR, lock="share")
    labels = await _check_references(session, project_id, body.assignee_id, body.label_ids)
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
    session: AsyncSession, user: orm.User, task_id: UUID, body: TaskUpdate, if_match: str | None
) -> orm.Task:
    project_id = await _project_of(session, task_id)
    await require_role(session, project_id, user, Role.EDITOR, lock="share")
    requested = body.model_dump(mode="json")  # only the fields present (absent = MISSING)
    labels = await _check_references(
        session,
        project_id,
        body.assignee_id if "assignee_id" in requested else None,
        body.label_ids if "label_ids" in requested else None,
    )
    task = await _lock(session, task_id)
    if if_match_fails(if_match, task.version):
        raise PreconditionFailed()
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
    project_id = await _project_of(session, task_id)
    await require_role(session, project_id, user, Role.EDITOR, lock="share")
    version = await session.scalar(select(Task.version).where(Task.id == task_id).with_for_update())
    if version is None:
        raise NotFound()
    if if_match_fails(if_match, version):
        raise PreconditionFailed()
    await session.execute(delete(Task).where(Task.id == task_id))
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.TASK_DELETED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
    )
