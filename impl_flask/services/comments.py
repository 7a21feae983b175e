"""Comments (SPEC §4): any member comments; authors edit; authors and owners delete.
Visibility follows the task's project."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.security import current_user, require_role
from impl_flask.services.activity import record
from shared.cursors import TIMESTAMP, UUID, scope
from shared.keyset import Key, Keyset
from shared.orm import Comment, Task

_OLDEST_FIRST = Keyset((Key(Comment.created_at, TIMESTAMP), Key(Comment.id, UUID)))


def _task_project(task_id: uuid.UUID) -> uuid.UUID:
    """The task's project, once the caller is a member of it (else 404)."""
    project_id = db.session().scalar(select(Task.project_id).where(Task.id == task_id))
    if project_id is None:
        abort(404)
    require_role(project_id)
    return project_id


def _comment(comment_id: uuid.UUID) -> tuple[Comment, uuid.UUID, str]:
    """The comment, its project and the caller's role there (404 unless a member)."""
    row = (
        db.session()
        .execute(
            select(Comment, Task.project_id)
            .join(Task, Task.id == Comment.task_id)
            .options(joinedload(Comment.author))
            .where(Comment.id == comment_id)
        )
        .first()
    )
    if row is None:
        abort(404)
    comment, project_id = row
    return comment, project_id, require_role(project_id)


def list_comments(task_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    """Oldest first."""
    _task_project(task_id)
    query = select(Comment).options(joinedload(Comment.author)).where(Comment.task_id == task_id)
    return paginate(query, _OLDEST_FIRST, limit, cursor, scope("comments", task_id=task_id))


def create_comment(task_id: uuid.UUID, body: str) -> Comment:
    project_id = _task_project(task_id)
    user = current_user()
    comment = Comment(task_id=task_id, author_id=user.id, body=body, author=user)
    db.session().add(comment)
    db.session().flush()
    record(project_id, "comment.created", "comment", comment.id)
    return comment


def update_comment(comment_id: uuid.UUID, body: str) -> Comment:
    """The author only (owners included in the 403); the same body changes nothing."""
    comment, project_id, _ = _comment(comment_id)
    if comment.author_id != current_user().id:
        abort(403, message="Only the author can edit a comment.")
    if comment.body != body:
        record(project_id, "comment.updated", "comment", comment.id, {"body": [comment.body, body]})
        comment.body = body
        comment.updated_at = func.now()
        db.session().flush()
        db.session().refresh(comment, ["updated_at"])
    return comment


def delete_comment(comment_id: uuid.UUID) -> None:
    comment, project_id, role = _comment(comment_id)
    if comment.author_id != current_user().id and role != "owner":
        abort(403, message="Only the author or a project owner can delete a comment.")
    db.session().delete(comment)
    record(project_id, "comment.deleted", "comment", comment_id)
