"""Comments (listComments, createComment, updateComment, deleteComment): any member comments;
authors edit; authors and owners delete. Visibility follows the task's project."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import (
    require_comment_author,
    require_comment_author_or_owner,
    require_task_role,
    visible_comment,
)
from impl_flask.security import current_user
from impl_flask.services import locks
from impl_flask.services.activity import record
from shared import selects
from shared.cursors import scope
from shared.orm import Comment
from shared.vocabulary import ActivityTargetType, ActivityVerb


def list_comments(task_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    """Oldest first."""
    require_task_role(task_id)
    return paginate(
        selects.comments_of(task_id),
        selects.COMMENTS_OLDEST_FIRST,
        limit,
        cursor,
        scope("comments", task_id=task_id),
    )


def create_comment(task_id: uuid.UUID, body: str) -> Comment:
    """Any member. The task is share-locked: it cannot go while the comment is added."""
    project_id = require_task_role(task_id)
    locks.lock_project(project_id, "share")
    locks.lock_task(task_id, share=True)
    session = db.session()
    user = current_user()
    comment = Comment(task_id=task_id, author_id=user.id, body=body, author=user)
    session.add(comment)
    session.flush()
    record(project_id, ActivityVerb.COMMENT_CREATED, ActivityTargetType.COMMENT, comment.id)
    return comment


def update_comment(comment_id: uuid.UUID, body: str) -> Comment:
    """The author only (owners included in the 403); the same body changes nothing."""
    comment, project_id, _ = visible_comment(comment_id)
    require_comment_author(comment)
    locks.lock_project(project_id, "share")
    locks.lock_comment(comment_id)
    session = db.session()
    comment = _load(comment_id)  # as it is now that it is locked
    if comment.body != body:
        record(
            project_id,
            ActivityVerb.COMMENT_UPDATED,
            ActivityTargetType.COMMENT,
            comment.id,
            {"body": [comment.body, body]},
        )
        comment.body = body
        comment.updated_at = func.now()
        session.flush()
        session.refresh(comment, ["updated_at"])
    return comment


def delete_comment(comment_id: uuid.UUID) -> None:
    comment, project_id, role = visible_comment(comment_id)
    require_comment_author_or_owner(comment, role)
    locks.lock_project(project_id, "share")
    locks.lock_comment(comment_id)
    db.session().delete(comment)
    record(project_id, ActivityVerb.COMMENT_DELETED, ActivityTargetType.COMMENT, comment_id)


def _load(comment_id: uuid.UUID) -> Comment:
    comment = db.session().scalar(selects.comment(comment_id))
    assert comment is not None  # locked by this transaction
    return comment
