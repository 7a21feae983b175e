"""The caller's notifications (listNotifications, markNotificationRead) and the one write that
makes them: `task.assigned`, in the transaction of the assignment (createTask, updateTask).
The statements are shared.notifications' and shared.live.writes' (migration 0006)."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.security import current_user
from shared.live.writes import task_assigned
from shared.notifications import (
    NOTIFICATIONS_NEWEST_FIRST,
    mark_read,
    notifications_of,
    notifications_scope,
)
from shared.settings import get_settings


def list_notifications(unread: bool | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """Newest first; `unread`: True only unread ones, False only read ones, None all."""
    user_id = current_user().id
    return paginate(
        notifications_of(user_id, unread),
        NOTIFICATIONS_NEWEST_FIRST,
        limit,
        cursor,
        notifications_scope(user_id, unread),
    )


def mark_notification_read(notification_id: uuid.UUID) -> None:
    """Idempotent (the first reading time stays); someone else's reads as no such one: 404."""
    updated = db.session().execute(mark_read(notification_id, current_user().id)).first()
    if updated is None:
        abort(404)


def notify_assignee(task_id: uuid.UUID, project_id: uuid.UUID, assignee_id: uuid.UUID) -> None:
    """The assignee's `task.assigned` notification — none when they assigned themselves — and,
    with NOTIFY_WEBHOOK_URL set, its webhook outbox row, in the assignment's transaction.
    Before the activity entry: the activity lock comes after every other lock the transaction
    takes (shared.live.orm_lock)."""
    db.session().execute(
        task_assigned(
            task_id,
            project_id,
            assignee_id,
            current_user().id,
            webhook=get_settings().notify_webhook_url is not None,
        )
    )
