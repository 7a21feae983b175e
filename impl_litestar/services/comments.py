"""Comments on tasks: any member comments; who edits and deletes is permissions.py's."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.pagination import PageParams, Window, paginate
from impl_litestar.schemas import CommentCreate, CommentUpdate
from impl_litestar.services import activity
from impl_litestar.services.locks import lock_comment, lock_project, lock_task
from shared import selects
from shared.changes import diff
from shared.cursors import scope
from shared.orm import Comment, User
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb


async def list_comments(
    session: AsyncSession, settings: Settings, task_id: uuid.UUID, params: PageParams
) -> Window:
    """Oldest first."""
    return await paginate(
        session,
        selects.comments_of(task_id),
        selects.COMMENTS_OLDEST_FIRST,
        params,
        scope("comments", task_id=task_id),
        settings,
    )


async def _get_comment(session: AsyncSession, comment_id: uuid.UUID) -> Comment:
    comment = await session.scalar(selects.comment(comment_id))
    assert comment is not None  # locked or just written by this transaction
    return comment


async def create_comment(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    body: CommentCreate,
) -> Comment:
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id, share=True)  # it must not go while the comment is added
    comment = Comment(task_id=task_id, author_id=actor.id, body=body.body)
    session.add(comment)
    await session.flush()
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.COMMENT_CREATED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment.id,
    )
    await session.flush()
    return await _get_comment(session, comment.id)


async def update_comment(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentUpdate,
) -> Comment:
    """No change: 200 with `updated_at` as it was, no activity."""
    await lock_project(session, project_id, "share")
    await lock_comment(session, comment_id)
    comment = await _get_comment(session, comment_id)
    changes = diff({"body": comment.body}, {"body": body.body})
    if not changes:
        return comment
    comment.body = body.body
    comment.updated_at = func.now()
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.COMMENT_UPDATED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment_id,
        changes=changes,
    )
    await session.flush()
    return await _get_comment(session, comment_id)


async def delete_comment(
    session: AsyncSession, actor: User, project_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    await lock_project(session, project_id, "share")
    await lock_comment(session, comment_id)
    await session.execute(delete(Comment).where(Comment.id == comment_id))
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.COMMENT_DELETED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment_id,
    )
    await session.flush()
