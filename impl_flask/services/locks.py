"""The row locks of every write, in the one order contract/DECISIONS.md ("Locks") fixes: the
project row (FOR SHARE for writes inside the project, FOR UPDATE for the project itself, its
membership and label deletion), then the task row, then the comment row. Services take them
after the permission check and before checking references, If-Match and conflicts, so what they
check still holds at commit. A row gone by the time its lock is granted is a 404."""

from __future__ import annotations

import uuid

from flask_smorest import abort

from impl_flask import db
from shared import selects
from shared.selects import ProjectLock


def lock_project(project_id: uuid.UUID, mode: ProjectLock) -> None:
    if db.session().scalar(selects.lock_project(project_id, mode)) is None:
        abort(404)


def lock_task(task_id: uuid.UUID, *, share: bool = False) -> None:
    if db.session().scalar(selects.lock_task(task_id, share=share)) is None:
        abort(404)


def lock_comment(comment_id: uuid.UUID) -> None:
    if db.session().scalar(selects.lock_comment(comment_id)) is None:
        abort(404)
