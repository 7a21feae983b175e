"""Notifications: written in the assignment's transaction (impl_drf.services.tasks calls
notify_assignee; migration 0006's notify_task_assigned writes the row), and marked read. The inbox
is read through impl_drf.selectors.notifications_of."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.models.functions import Coalesce, Now
from rest_framework.exceptions import NotFound

from impl_drf.models import Notification, User
from shared.live.writes import TASK_ASSIGNED_SQL
from shared.settings import get_settings


def mark_notification_read(notification_id: uuid.UUID, user: User) -> None:
    """Idempotent: the first reading time is kept. Someone else's notification, or none → 404
    (one statement: no row updated)."""
    updated = Notification.objects.filter(pk=notification_id, user=user).update(
        read_at=Coalesce("read_at", Now())
    )
    if not updated:
        raise NotFound()


def notify_assignee(
    task_id: uuid.UUID, project_id: uuid.UUID, assignee_id: uuid.UUID | None, actor: User
) -> None:
    """The `task.assigned` notification, in the assignment's transaction (migration 0006's
    notify_task_assigned: none for no assignee or oneself; the webhook outbox row too when
    NOTIFY_WEBHOOK_URL is set). Before the activity entry: the activity lock comes last."""
    if assignee_id is None or assignee_id == actor.pk:
        return  # the function would write nothing: spare the statement
    webhook = get_settings().notify_webhook_url is not None
    with connection.cursor() as cursor:
        cursor.execute(TASK_ASSIGNED_SQL, [task_id, project_id, assignee_id, actor.pk, webhook])
