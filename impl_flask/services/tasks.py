"""Tasks (SPEC §4): editors create, update and delete; every member reads and filters."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from flask_smorest import abort
from sqlalchemy import delete, exists, func, select

from impl_flask import db, queries
from impl_flask.pagination import paginate
from impl_flask.permissions import require_role, require_task_role
from impl_flask.security import current_user
from impl_flask.services.activity import record
from shared import problems, selects
from shared.changes import diff, request_form, task_request_form
from shared.cursors import DATE, INT, TIMESTAMP, UUID, scope
from shared.httputil import if_match_fails, like_escape
from shared.keyset import Key, Keyset
from shared.orm import Label, ProjectMember, Task, task_labels
from shared.problems import field_error
from shared.vocabulary import Role


def _load(task_id: uuid.UUID) -> Task:
    """The task's representation, as it is in this transaction (404 if it has gone)."""
    task = db.session().scalar(queries.tasks().where(Task.id == task_id))
    if task is None:
        abort(404)
    return task


def _referenced_labels(
    project_id: uuid.UUID, assignee_id: uuid.UUID | None, label_ids: Sequence[uuid.UUID]
) -> list[Label]:
    """The labels named by `label_ids`; 422 invalid_reference for an assignee who is not a
    member or a label that is not this project's (every one of them listed)."""
    session = db.session()
    errors = []
    if assignee_id is not None and session.get(ProjectMember, (project_id, assignee_id)) is None:
        errors.append(
            field_error(
                ["body", "assignee_id"],
                "invalid_reference",
                problems.ASSIGNEE_NOT_MEMBER,
            )
        )
    labels = {
        label.id: label
        for label in session.scalars(
            select(Label).where(Label.project_id == project_id, Label.id.in_(label_ids))
        )
    }
    errors.extend(
        field_error(
            ["body", "label_ids", index],
            "invalid_reference",
            problems.LABEL_NOT_IN_PROJECT,
        )
        for index, label_id in enumerate(label_ids)
        if label_id not in labels
    )
    if errors:
        abort(422, errors=errors)
    return [labels[label_id] for label_id in label_ids]


def create_task(project_id: uuid.UUID, data: dict[str, Any]) -> Task:
    require_role(project_id, Role.EDITOR)
    db.lock(selects.lock_project(project_id, "share"))
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
    record(project_id, "task.created", "task", task.id)
    session.flush()
    return _load(task.id)


def get_task(task_id: uuid.UUID) -> Task:
    require_task_role(task_id)
    return _load(task_id)


def update_task(task_id: uuid.UUID, changes: dict[str, Any], if_match: str | None) -> Task:
    """Absent fields stay; a PATCH that changes nothing answers without a new version."""
    project_id = require_task_role(task_id, Role.EDITOR)
    db.lock(selects.lock_project(project_id, "share"))
    version = db.lock(selects.lock_task(task_id))
    labels = _referenced_labels(
        project_id, changes.get("assignee_id"), changes.get("label_ids", [])
    )
    if if_match_fails(if_match, version):
        abort(412)
    task = _load(task_id)
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
    record(project_id, "task.updated", "task", task.id, changed)
    db.session().flush()
    return _load(task_id)


def delete_task(task_id: uuid.UUID, if_match: str | None) -> None:
    project_id = require_task_role(task_id, Role.EDITOR)
    db.lock(selects.lock_project(project_id, "share"))
    version = db.lock(selects.lock_task(task_id))
    if if_match_fails(if_match, version):
        abort(412)
    db.session().execute(delete(Task).where(Task.id == task_id))
    record(project_id, "task.deleted", "task", task_id)


# ---------------------------------------------------------------------------- the list


# Ties by id in the direction of the sort; tasks without a due date come last in both directions
# (DECISIONS "Ordering").
_ID = Key(Task.id, UUID)
_SORTS: dict[str, Keyset] = {
    "-created_at": Keyset((Key(Task.created_at, TIMESTAMP), _ID), descending=True),
    "created_at": Keyset((Key(Task.created_at, TIMESTAMP), _ID)),
    "due_date": Keyset((Key(Task.due_date, DATE, nullable=True), _ID)),
    "-due_date": Keyset((Key(Task.due_date, DATE, nullable=True), _ID), descending=True),
    "priority": Keyset((Key(Task.priority_rank, INT), _ID)),
    "-priority": Keyset((Key(Task.priority_rank, INT), _ID), descending=True),
}


def list_tasks(
    project_id: uuid.UUID,
    *,
    status: list[str] | None = None,
    priority: list[str] | None = None,
    assignee_id: uuid.UUID | None = None,
    label_id: uuid.UUID | None = None,
    due_before: dt.date | None = None,
    q: str | None = None,
    sort: str,
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    require_role(project_id)
    scope_id = scope(
        "tasks",
        project_id=project_id,
        status=status,
        priority=priority,
        assignee_id=assignee_id,
        label_id=label_id,
        due_before=due_before,
        q=q,
        sort=sort,
    )
    query = queries.tasks().where(Task.project_id == project_id)
    if status:
        query = query.where(Task.status.in_(status))
    if priority:
        query = query.where(Task.priority.in_(priority))
    if assignee_id is not None:
        query = query.where(Task.assignee_id == assignee_id)
    if label_id is not None:
        query = query.where(
            exists().where(task_labels.c.task_id == Task.id, task_labels.c.label_id == label_id)
        )
    if due_before is not None:
        query = query.where(Task.due_date < due_before)
    if q is not None:
        query = query.where(Task.title.ilike(f"%{like_escape(q)}%", escape="\\"))
    return paginate(query, _SORTS[sort], limit, cursor, scope_id)
