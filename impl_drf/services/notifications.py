"""Notifications: marking one read. They are written by the database, in the assignment's
transaction (impl_drf.services.tasks, migration 0006's notify_task_assigned); the inbox is read
through impl_drf.selectors.notifications_of."""

from __future__ import annotations

import uuid

from django.db.models.functions import Coalesce, Now
from rest_framework.exceptions import NotFound

from impl_drf.models import Notification, User


def mark_read(notification_id: uuid.UUID, user: User) -> None:
    """Idempotent: the first reading time is kept. Someone else's notification, or none → 404
    (one statement: no row updated)."""
    updated = Notification.objects.filter(pk=notification_id, user=user).update(
        read_at=Coalesce("read_at", Now())
    )
    if not updated:
        raise NotFound()
