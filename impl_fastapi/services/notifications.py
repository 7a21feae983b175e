"""Notifications (SPEC section 7): the `task.assigned` row written with an assignment, in its
transaction, and the caller's inbox. The rule (not to oneself, not for no assignee) and the
webhook outbox row are migration 0006's `notify_task_assigned()`; the inbox statements are
shared.notifications', as for the other SQLAlchemy implementations."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import NotFound
from impl_fastapi.pagination import Page, PageParams, paginate
from shared import orm
from shared.live.writes import task_assigned
from shared.notifications import (
    NOTIFICATIONS_NEWEST_FIRST,
    Notification,
    mark_read,
    notifications_of,
    notifications_scope,
)
from shared.settings import Settings


async def notify_assignee(
    session: AsyncSession,
    settings: Settings,
    *,
    task_id: UUID,
    project_id: UUID,
    assignee_id: UUID,
    actor: orm.User,
) -> None:
    """Call it before the write's activity entry is recorded: the activity lock comes after
    the transaction's last row lock, and this insert takes key-share locks (its foreign keys)."""
    await session.execute(
        task_assigned(
            task_id,
            project_id,
            assignee_id,
            actor.id,
            webhook=settings.notify_webhook_url is not None,
        )
    )


async def list_notifications(
    session: AsyncSession,
    settings: Settings,
    user: orm.User,
    unread: bool | None,
    params: PageParams,
) -> Page[Notification]:
    return await paginate(
        session,
        notifications_of(user.id, unread),
        NOTIFICATIONS_NEWEST_FIRST,
        params,
        notifications_scope(user.id, unread),
        settings,
    )


async def mark_notification_read(
    session: AsyncSession, user: orm.User, notification_id: UUID
) -> None:
    """Idempotent; someone else's notification is as unknown as a missing one (404)."""
    if (await session.execute(mark_read(notification_id, user.id))).first() is None:
        raise NotFound()
