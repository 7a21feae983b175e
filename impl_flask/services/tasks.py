"""Tasks (createTask, listTasks, getTask, updateTask, deleteTask): editors create, update and
delete; every member reads and filters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask_smorest import abort
from sqlalchemy import Row, delete, func

from impl_flask import db
from impl_flask.conditional import require_match
from impl_flask.pagination import paginate_rows
from impl_flask.permissions import require_role, require_task_role
from impl_flask.security import current_user
from impl_flask.services import locks
from impl_flask.services.activity import record
from impl_flask.services.notifications import notify_assignee
from shared import problems, selects
from shared.changes import diff, request_form, task_request_form
from shared.orm import Label, Task
from shared.problems import field_error
from shared.tasklist import TaskFilters
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def create_task(project_id: uuid.UUID, data: dict[str, Any]) -> Task:
    require_role(project_id, Role.EDITOR)
    locks.lock_project(project_id, "share")
    labels = _referenced_labels(project_id, data["assignee_id"], data["label_ids"])
    session = db.session()
    task = Task(
        project_id=project_id,
        title=data["title"],
        description=data["description"],
        status=data["status"],
        priority=data["priority"],
        assignee_id=data["assignee_id"],
        due_date=data["due_date"],
        created_by_id=current_user().id,
        labels=labels,
    )
    session.add(task)
    session.flush()
    if task.assignee_id is not None:
        notify_assignee(task.id, project_id, task.assignee_id)
    record(project_id, ActivityVerb.TASK_CREATED, ActivityTargetType.TASK, task.id)
    session.flush()
    return _load(task.id)


def list_tasks(
    project_id: uuid.UUID, filters: TaskFilters, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A page read as rows, not entities (a read changes nothing: no identity map to keep)."""
    require_role(project_id)
    statement, parameters = selects.task_list_page(project_id, filters)
    page = paginate_rows(
        statement,
        parameters,
        selects.TASK_SORTS[filters.sort],
        limit,
        cursor,
        filters.cursor_scope(project_id),
    )
    page["items"] = _representations(page["items"])
    return page


def get_task(task_id: uuid.UUID) -> dict[str, Any]:
    """Visibility and the task in one statement: no row is the 404 (not a member reads the
    same as no such task)."""
    parameters = {"task_id": task_id, "user_id": current_user().id}
    row = db.session().execute(selects.TASK_ROW, parameters).first()
    if row is None:
        abort(404)
    return _representations([row])[0]


def _representations(rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """`task_rows` rows as the representation's fields, with their labels (one statement for
    the whole page)."""
    if not rows:
        return []
    labels = selects.labels_by_task(
        db.session().execute(selects.LABELS_OF_TASKS, {"task_ids": [row.id for row in rows]})
    )
    return [{**row._asdict(), "labels": labels.get(row.id, [])} for row in rows]


def update_task(task_id: uuid.UUID, changes: dict[str, Any], if_match: str | None) -> Task:
    """Absent fields stay; a PATCH that changes nothing answers without a new version."""
    project_id = require_task_role(task_id, Role.EDITOR)
    locks.lock_project(project_id, "share")
    locks.lock_task(task_id)
    labels = _referenced_labels(
        project_id, changes.get("assignee_id"), changes.get("label_ids", [])
    )
    task = _load(task_id)  # the representation as the lock leaves it
    require_match(if_match, task)
    changed = diff(
        task_request_form(task, [label.id for label in task.labels]), request_form(changes)
    )
    if not changed:
        return task
    for field in changed:
        if field == "label_ids":
            task.labels = labels
        else:
            setattr(task, field, changes[field])
    task.version += 1
    task.updated_at = func.now()
    if "assignee_id" in changed and changes["assignee_id"] is not None:
        notify_assignee(task.id, project_id, changes["assignee_id"])
    record(project_id, ActivityVerb.TASK_UPDATED, ActivityTargetType.TASK, task.id, changed)
    db.session().flush()
    return _load(task_id)


def delete_task(task_id: uuid.UUID, if_match: str | None) -> None:
    """Its comments go with it (ON DELETE CASCADE)."""
    project_id = require_task_role(task_id, Role.EDITOR)
    locks.lock_project(project_id, "share")
    locks.lock_task(task_id)
    if if_match is not None:  # compared with the representation as the lock leaves it
        require_match(if_match, _load(task_id))
    db.session().execute(delete(Task).where(Task.id == task_id))
    record(project_id, ActivityVerb.TASK_DELETED, ActivityTargetType.TASK, task_id)


def _load(task_id: uuid.UUID) -> Task:
    """The task's representation as this transaction sees it (404 when it has gone)."""
    task = db.session().scalar(selects.task(task_id))
    if task is None:
        abort(404)
    return task


def _referenced_labels(
    project_id: uuid.UUID, assignee_id: uuid.UUID | None, label_ids: Sequence[uuid.UUID]
) -> list[Label]:
    """The labels named by `label_ids`; 422 invalid_reference for an assignee who is not a
    member or a label that is not this project's (every one of them listed). Under the project
    lock, so both still hold at the commit."""
    session = db.session()
    errors = []
    if (
        assignee_id is not None
        and session.scalar(selects.member_role(project_id, assignee_id)) is None
    ):
        errors.append(
            field_error(["body", "assignee_id"], "invalid_reference", problems.ASSIGNEE_NOT_MEMBER)
        )
    labels = {
        label.id: label
        for label in session.scalars(selects.labels_among(project_id, list(label_ids)))
    }
    errors.extend(
        field_error(
            ["body", "label_ids", index], "invalid_reference", problems.LABEL_NOT_IN_PROJECT
        )
        for index, label_id in enumerate(label_ids)
        if label_id not in labels
    )
    if errors:
        abort(422, errors=errors)
    return [labels[label_id] for label_id in label_ids]
