"""Notifications (SPEC section 7): the `task.assigned` row written with an assignment, the
caller's inbox, and marking one read. The statements are shared.notifications' and
shared.live.writes' (the same SQL in the three SQLAlchemy implementations)."""

from __future__ import annotations

import uuid

from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.pagination import PageParams, Window, paginate
from shared import notifications
from shared.live import writes
from shared.orm import User
from shared.settings import Settings


async def notify_assignee(
    session: AsyncSession,
    settings: Settings,
    *,
    task_id: uuid.UUID,
    project_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    actor: User,
) -> None:
    """In the assignment's transaction: the assignee's notification (none for no assignee or
    for assigning oneself) and, with a webhook configured, its outbox row."""
    await session.execute(
        writes.task_assigned(
            task_id,
            project_id,
            assignee_id,
            actor.id,
            webhook=settings.notify_webhook_url is not None,
        )
    )


async def list_notifications(
    session: AsyncSession, settings: Settings, user: User, unread: bool | None, params: PageParams
) -> Window:
    """Newest first; `unread`: True unread only, False read only, None all."""
    return await paginate(
        session,
        notifications.notifications_of(user.id, unread),
        notifications.NOTIFICATIONS_NEWEST_FIRST,
        params,
        notifications.notifications_scope(user.id, unread),
        settings,
    )


async def mark_notification_read(
    session: AsyncSession, notification_id: uuid.UUID, user: User
) -> None:
    """Idempotent (the first reading time stays); someone else's is a 404, like a missing one."""
    if await session.scalar(notifications.mark_read(notification_id, user.id)) is None:
        raise NotFoundException()
