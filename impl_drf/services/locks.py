"""The row locks of every write, in the one order contract/DECISIONS.md ("Locks") fixes: the
project row (FOR SHARE for writes inside the project, FOR UPDATE for the project itself, its
membership and label deletion), then the task row, then the comment row, taken inside the
service's transaction after the visibility check. Each returns None when the row is gone once
the lock is granted: a 404."""

from __future__ import annotations

import uuid
from typing import Literal

from django.db import connection
from django.db.models import Model

from impl_drf.models import Comment, Project, Task

ProjectLock = Literal["share", "update"]


def lock_project(project_id: uuid.UUID, mode: ProjectLock) -> Project | None:
    """The project FOR UPDATE (its row, to change it) or FOR SHARE (then only its id is
    known: the writes inside the project need it to stay, not its columns)."""
    if mode == "share":
        return Project(pk=project_id) if _lock_for_share(Project, project_id) else None
    return Project.objects.select_for_update().filter(pk=project_id).first()


def lock_task(task_id: uuid.UUID, *, share: bool = False) -> Task | None:
    """The task FOR UPDATE (to change it) or FOR SHARE (it must stay, e.g. under a new comment;
    then only its id is known)."""
    if share:
        return Task(pk=task_id) if _lock_for_share(Task, task_id) else None
    return Task.objects.select_for_update().filter(pk=task_id).first()


def lock_comment(comment_id: uuid.UUID) -> Comment | None:
    return Comment.objects.select_for_update().filter(pk=comment_id).first()


def _lock_for_share(model: type[Model], pk: uuid.UUID) -> bool:
    """`SELECT ... FOR SHARE` on one row; True when the row exists.

    Django's select_for_update() says FOR UPDATE or FOR NO KEY UPDATE only, and either would
    make writes inside one project wait for each other; FOR SHARE lets them run side by side
    while holding off the FOR UPDATE of a membership change or a label deletion. So this one
    lock is raw SQL, over the model's own table and primary key names."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {quote(model._meta.db_table)}"
            f" WHERE {quote(model._meta.pk.column)} = %s FOR SHARE",
            [pk],
        )
        return cursor.fetchone() is not None
