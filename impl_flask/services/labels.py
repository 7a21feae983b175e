"""Labels (listLabels, createLabel, deleteLabel): names unique per project, case-insensitively."""

from __future__ import annotations

import uuid
from collections import defaultdict

from flask_smorest import abort
from sqlalchemy import func, select, update

from impl_flask import db
from impl_flask.permissions import require_role
from impl_flask.services import locks
from impl_flask.services.activity import record
from shared import selects
from shared.changes import request_form
from shared.orm import Label, Task, task_labels
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def list_labels(project_id: uuid.UUID) -> list[Label]:
    """By name, then id."""
    require_role(project_id)
    return list(db.session().scalars(selects.labels_of(project_id)))


def create_label(project_id: uuid.UUID, name: str, color: str) -> Label:
    require_role(project_id, Role.EDITOR)
    locks.lock_project(project_id, "share")
    label = Label(project_id=project_id, name=name, color=color)
    with db.conflict_savepoint():  # the unique index on (project_id, lower(name)) decides
        db.session().add(label)
    record(project_id, ActivityVerb.LABEL_CREATED, ActivityTargetType.LABEL, label.id)
    return label


def delete_label(project_id: uuid.UUID, label_id: uuid.UUID) -> None:
    """Takes the label off its tasks; each of them changes version (its labels changed) and
    gets its task.updated entry."""
    require_role(project_id, Role.EDITOR)
    # FOR UPDATE: no task write in the project attaches the label while it goes.
    locks.lock_project(project_id, "update")
    session = db.session()
    label = session.scalar(selects.labels_among(project_id, [label_id]))
    if label is None:
        abort(404)
    labelled = select(task_labels.c.task_id).where(task_labels.c.label_id == label_id)
    label_ids: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for task_id, task_label_id in session.execute(
        select(task_labels.c.task_id, task_labels.c.label_id).where(
            task_labels.c.task_id.in_(labelled)
        )
    ):
        label_ids[task_id].append(task_label_id)
    session.execute(
        update(Task)
        .where(Task.id.in_(labelled))
        .values(version=Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    # Every version bump has its task.updated, in task id order, before label.deleted.
    for task_id in sorted(label_ids):
        before = request_form({"label_ids": label_ids[task_id]})["label_ids"]
        after = [other for other in before if other != str(label_id)]
        record(
            project_id,
            ActivityVerb.TASK_UPDATED,
            ActivityTargetType.TASK,
            task_id,
            {"label_ids": [before, after]},
        )
    session.delete(label)  # task_labels rows go by ON DELETE CASCADE
    record(project_id, ActivityVerb.LABEL_DELETED, ActivityTargetType.LABEL, label_id)
