"""Comments on tasks: any member comments; the author edits; the author or an owner deletes."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.idempotency import idempotent_post
from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.permissions import CommentAccess, TaskAccess, comment_permission, task_role
from impl_litestar.schemas import Comment, CommentCreate, CommentUpdate, Page
from impl_litestar.services import comments
from impl_litestar.settings import AppSettings


class CommentController(Controller):
    path = "/"
    tags = ["comments"]
    security = BEARER

    @get(
        "/tasks/{task_id:str}/comments",
        operation_id="listComments",
        summary="List the comments of a task",
        dependencies={"access": task_role()},
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def list_comments(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        access: TaskAccess,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[Comment]:
        """Oldest first."""
        window = await comments.list_comments(
            db_session, settings, access.task_id, PageParams(limit, cursor)
        )
        return Page([Comment.of(comment) for comment in window.rows], window.next_cursor)

    @idempotent_post(
        "/tasks/{task_id:str}/comments",
        operation_id="createComment",
        summary="Comment on a task (any member)",
        dependencies={"access": task_role()},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 404, 409, 415, 422),
    )
    async def create_comment(
        self, data: CommentCreate, db_session: AsyncSession, access: TaskAccess
    ) -> Response[Comment]:
        comment = await comments.create_comment(
            db_session, access.user, access.project_id, access.task_id, data
        )
        return Response(
            Comment.of(comment),
            status_code=201,
            headers={"Location": f"/api/v1/comments/{comment.id}"},
        )

    @patch(
        "/comments/{comment_id:str}",
        operation_id="updateComment",
        summary="Edit a comment (author only)",
        dependencies={"access": comment_permission("edit")},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 404, 415, 422),
    )
    async def update_comment(
        self, data: CommentUpdate, db_session: AsyncSession, access: CommentAccess
    ) -> Comment:
        """Only the author may edit, owners included in the refusal (403)."""
        comment = await comments.update_comment(
            db_session, access.user, access.project_id, access.comment.id, data
        )
        return Comment.of(comment)

    @delete(
        "/comments/{comment_id:str}",
        operation_id="deleteComment",
        summary="Delete a comment (author or project owner)",
        dependencies={"access": comment_permission("delete")},
        operation_class=ContractOperation,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def delete_comment(self, db_session: AsyncSession, access: CommentAccess) -> None:
        await comments.delete_comment(db_session, access.user, access.project_id, access.comment.id)
