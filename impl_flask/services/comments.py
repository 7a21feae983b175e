"""Comments (SPEC §4): any member comments; authors edit; authors and owners delete.
Visibility follows the task's project."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import (
    require_comment_author,
    require_comment_author_or_owner,
    require_task_role,
    visible_comment,
)
from impl_flask.security import current_user
from impl_flask.services.activity import record
from shared import selects
from shared.cursors import TIMESTAMP, UUID, scope
from shared.keyset import Key, Keyset
from shared.orm import Comment

_OLDEST_FIRST = Keyset((Key(Comment.created_at, TIMESTAMP), Key(Comment.id, UUID)))


def list_comments(task_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    """Oldest first."""
    require_task_role(task_id)
    query = select(Comment).options(joinedload(Comment.author)).where(Comment.task_id == task_id)
    return paginate(query, _OLDEST_FIRST, limit, cursor, scope("comments", task_id=task_id))


def create_comment(task_id: uuid.UUID, body: str) -> Comment:
    """Any member. The task is share-locked: it cannot go while the comment is added."""
    project_id = require_task_role(task_id)
    db.lock(selects.lock_project(project_id, "share"))
    db.lock(selects.lock_task(task_id, share=True))
    user = current_user()
    comment = Comment(task_id=task_id, author_id=user.id, body=body, author=user)
    db.session().add(comment)
    db.session().flush()
    record(project_id, "comment.created", "comment", comment.id)
    return comment


def update_comment(comment_id: uuid.UUID, body: str) -> Comment:
    """The author only (owners included in the 403); the same body changes nothing."""
    comment, project_id, _ = visible_comment(comment_id)
    require_comment_author(comment)
    db.lock(selects.lock_project(project_id, "share"))
    db.lock(selects.lock_comment(comment_id))
    db.session().refresh(comment, ["body", "updated_at"])  # as it is now that it is locked
    if comment.body != body:
        record(project_id, "comment.updated", "comment", comment.id, {"body": [comment.body, body]})
        comment.body = body
        comment.updated_at = func.now()
        db.session().flush()
        db.session().refresh(comment, ["updated_at"])
    return comment


def delete_comment(comment_id: uuid.UUID) -> None:
    comment, project_id, role = visible_comment(comment_id)
    require_comment_author_or_owner(comment, role)
    db.lock(selects.lock_project(project_id, "share"))
    db.lock(selects.lock_comment(comment_id))
    db.session().delete(comment)
    record(project_id, "comment.deleted", "comment", comment_id)
