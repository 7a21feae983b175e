"""Comments on tasks. Visibility follows the task's project membership."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from impl_fastapi.errors import Forbidden, NotFound
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.schemas import CommentCreate, CommentUpdate
from impl_fastapi.security import require_role
from impl_fastapi.services import activity
from shared import orm
from shared.cursors import TIMESTAMP, scope
from shared.cursors import UUID as UUID_KEY
from shared.keyset import Key, Keyset
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role

Comment = orm.Comment
_OLDEST_FIRST = Keyset((Key(Comment.created_at, TIMESTAMP), Key(Comment.id, UUID_KEY)))


async def _project_of_task(session: AsyncSession, task_id: UUID) -> UUID:
    project_id = await session.scalar(select(orm.Task.project_id).where(orm.Task.id == task_id))
    if project_id is None:
        raise NotFound()
    return project_id


async def _load(session: AsyncSession, comment_id: UUID) -> tuple[orm.Comment, UUID]:
    """The comment (author loaded) and its task's project id."""
    row = (
        await session.execute(
            select(Comment, orm.Task.project_id)
            .join(orm.Task, orm.Task.id == Comment.task_id)
            .where(Comment.id == comment_id)
            .options(joinedload(Comment.author))
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotFound()
    return row[0], row[1]


async def list_comments(
    session: AsyncSession, settings: Settings, user: orm.User, task_id: UUID, params: PageParams
) -> Page[orm.Comment]:
    await require_role(session, await _project_of_task(session, task_id), user, Role.VIEWER)
    statement = (
        select(Comment).where(Comment.task_id == task_id).options(joinedload(Comment.author))
    )
    return await paginate(
        session, statement, _OLDEST_FIRST, params, scope("comments", task_id=task_id), settings
    )


async def create_comment(
    session: AsyncSession, user: orm.User, task_id: UUID, body: CommentCreate
) -> orm.Comment:
    project_id = await _project_of_task(session, task_id)
    await require_role(session, project_id, user, Role.VIEWER)  # every member may comment
    comment = orm.Comment(task_id=task_id, author_id=user.id, body=body.body)
    session.add(comment)
    await session.flush()
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.COMMENT_CREATED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment.id,
    )
    await session.flush()
    return (await _load(session, comment.id))[0]


async def update_comment(
    session: AsyncSession, user: orm.User, comment_id: UUID, body: CommentUpdate
) -> orm.Comment:
    comment, project_id = await _load(session, comment_id)
    await require_role(session, project_id, user, Role.VIEWER)
    if comment.author_id != user.id:
        raise Forbidden("Only the author can edit a comment.")
    if comment.body == body.body:
        return comment
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.COMMENT_UPDATED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment_id,
        changes={"body": [comment.body, body.body]},
    )
    comment.body = body.body
    comment.updated_at = func.now()
    await session.flush()
    return (await _load(session, comment_id))[0]


async def delete_comment(session: AsyncSession, user: orm.User, comment_id: UUID) -> None:
    comment, project_id = await _load(session, comment_id)
    role = await require_role(session, project_id, user, Role.VIEWER)
    if comment.author_id != user.id and role != Role.OWNER:
        raise Forbidden("Only the author or a project owner can delete a comment.")
    await session.delete(comment)
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.COMMENT_DELETED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment_id,
    )
    await session.flush()
