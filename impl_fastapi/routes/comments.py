"""Comments on tasks."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from impl_fastapi.db import Session
from impl_fastapi.idempotency import idempotent
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import Comment, CommentCreate, CommentPage, CommentUpdate, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import comments
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1", tags=["comments"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


@router.get(
    "/tasks/{task_id}/comments",
    operation_id="listComments",
    summary="List the comments of a task",
    response_model=CommentPage,
    responses=problem_responses(401, 404, 422),
)
async def list_comments(
    task_id: ResourceId, page: PageQuery, user: CurrentUser, session: Session, settings: SettingsDep
) -> Page[orm.Comment]:
    return await comments.list_comments(session, settings, user, task_id, page)


@router.post(
    "/tasks/{task_id}/comments",
    operation_id="createComment",
    summary="Comment on a task (any member)",
    status_code=status.HTTP_201_CREATED,
    response_model=Comment,
    responses=problem_responses(400, 401, 404, 409, 415, 422),
)
@idempotent
async def create_comment(
    task_id: ResourceId,
    body: CommentCreate,
    user: CurrentUser,
    session: Session,
    response: Response,
) -> orm.Comment:
    comment = await comments.create_comment(session, user, task_id, body)
    response.headers["Location"] = f"/api/v1/comments/{comment.id}"
    return comment


@router.patch(
    "/comments/{comment_id}",
    operation_id="updateComment",
    summary="Edit a comment (author only)",
    response_model=Comment,
    responses=problem_responses(400, 401, 403, 404, 415, 422),
)
async def update_comment(
    comment_id: ResourceId, body: CommentUpdate, user: CurrentUser, session: Session
) -> orm.Comment:
    return await comments.update_comment(session, user, comment_id, body)


@router.delete(
    "/comments/{comment_id}",
    operation_id="deleteComment",
    summary="Delete a comment (author or project owner)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_comment(comment_id: ResourceId, user: CurrentUser, session: Session) -> None:
    await comments.delete_comment(session, user, comment_id)
