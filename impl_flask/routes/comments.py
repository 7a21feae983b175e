"""Comments on tasks (listComments, createComment, updateComment, deleteComment)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import IDEMPOTENT_REPLAYED_HEADER, LOCATION_HEADER, Blueprint
from impl_flask.schemas import (
    CommentCreateSchema,
    CommentPageSchema,
    CommentSchema,
    CommentUpdateSchema,
    PageQuerySchema,
)
from impl_flask.services import comments
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import Comment

blp = Blueprint(
    "comments", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["comments"]
)


@blp.route("/tasks/<uuid:task_id>/comments")
class TaskComments(TransactionalView):
    @blp.doc(operationId="listComments")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, CommentPageSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, query: dict[str, Any], task_id: uuid.UUID) -> dict[str, Any]:
        """List the comments of a task

        Oldest first (`created_at`, then `id`, ascending).
        """
        return comments.list_comments(task_id, query["limit"], query.get("cursor"))

    @blp.doc(operationId="createComment")
    @blp.arguments(CommentCreateSchema)
    @blp.idempotent
    @blp.response(
        201,
        CommentSchema,
        headers={"Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER, "Location": LOCATION_HEADER},
    )
    @blp.problems(400, 401, 404, 415, 422, 500)
    def post(self, data: dict[str, Any], task_id: uuid.UUID) -> tuple[Comment, dict[str, str]]:
        """Comment on a task (any member)"""
        comment = comments.create_comment(task_id, data["body"])
        return comment, {"Location": f"{API_PREFIX}/comments/{comment.id}"}


@blp.route("/comments/<uuid:comment_id>")
class CommentById(TransactionalView):
    @blp.doc(operationId="updateComment")
    @blp.arguments(CommentUpdateSchema)
    @blp.response(200, CommentSchema)
    @blp.problems(400, 401, 403, 404, 415, 422, 500)
    def patch(self, data: dict[str, Any], comment_id: uuid.UUID) -> Comment:
        """Edit a comment (author only)"""
        return comments.update_comment(comment_id, data["body"])

    @blp.doc(operationId="deleteComment")
    @blp.response(204)
    @blp.problems(401, 403, 404, 422, 500)
    def delete(self, comment_id: uuid.UUID) -> None:
        """Delete a comment (author or project owner)"""
        comments.delete_comment(comment_id)
