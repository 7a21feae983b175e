"""Comments on tasks. Visibility follows the task's project membership; every member may
comment, only the author edits, the author or a project owner deletes.

Writes take the steps of contract/DECISIONS.md "Locks": who may act (no lock) → the project row
FOR SHARE → the task FOR SHARE (a new comment's task must stay) or the comment FOR UPDATE."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import NotFound
from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.permissions import (
    require_comment_author,
    require_comment_author_or_owner,
    require_comment_role,
    require_task_role,
)
from impl_fastapi.schemas import CommentCreate, CommentUpdate
from impl_fastapi.services import activity
from impl_fastapi.services.locks import lock_comment, lock_project, lock_task
from shared import orm, selects
from shared.cursors import scope
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def _load(session: AsyncSession, comment_id: UUID) -> orm.Comment:
    comment = await session.scalar(selects.comment(comment_id))
    if comment is None:
        raise NotFound()
    return comment


async def list_comments(
    session: AsyncSession, settings: Settings, user: orm.User, task_id: UUID, params: PageParams
) -> Page[orm.Comment]:
    await require_task_role(session, task_id, user, Role.VIEWER)
    return await paginate(
        session,
        selects.comments_of(task_id),
        selects.COMMENTS_OLDEST_FIRST,
        params,
        scope("comments", task_id=task_id),
        settings,
    )


async def create_comment(
    session: AsyncSession, user: orm.User, task_id: UUID, body: CommentCreate
) -> orm.Comment:
    project_id, _ = await require_task_role(session, task_id, user, Role.VIEWER)
    await lock_project(session, project_id, "share")
    await lock_task(session, task_id, share=True)
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
    return await _load(session, comment.id)


async def update_comment(
    session: AsyncSession, user: orm.User, comment_id: UUID, body: CommentUpdate
) -> orm.Comment:
    comment, project_id, _ = await require_comment_role(session, comment_id, user, Role.VIEWER)
    require_comment_author(comment, user)
    await lock_project(session, project_id, "share")
    await lock_comment(session, comment_id)
    comment = await _load(session, comment_id)  # as of the lock: the `changes` compare with it
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
    return await _load(session, comment_id)


async def delete_comment(session: AsyncSession, user: orm.User, comment_id: UUID) -> None:
    comment, project_id, role = await require_comment_role(session, comment_id, user, Role.VIEWER)
    require_comment_author_or_owner(comment, user, role)
    await lock_project(session, project_id, "share")
    await lock_comment(session, comment_id)
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
