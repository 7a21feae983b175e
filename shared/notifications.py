"""Notifications (SPEC section 7: `task.assigned`; migration 0006) for the three SQLAlchemy
implementations: the mapping, the inbox's keyset order, its read and the mark-as-read write.
Rows are written only by `notify_task_assigned()` in the assignment's transaction
(shared.live.writes.task_assigned), never through this mapping.

DRF says the same in the Django ORM (notes/live-foundation.md); the SQL is identical."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Select, Update, func, select, update
from sqlalchemy.orm import Mapped, column_property, joinedload, mapped_column, relationship

from shared.cursors import TIMESTAMP
from shared.cursors import UUID as UUID_KEY
from shared.cursors import scope as cursor_scope
from shared.keyset import Key, Keyset
from shared.orm import Base, User


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=func.gen_random_uuid())
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str]
    task_id: Mapped[uuid.UUID]  # no foreign key: the notification outlives the task
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    # The representation's `read`.
    read: Mapped[bool] = column_property(read_at.is_not(None))
    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="raise")


# GET /me/notifications: newest first (created_at, then id, descending), over
# notifications_user_created_idx or, with unread=true, notifications_user_unread_idx.
NOTIFICATIONS_NEWEST_FIRST = Keyset(
    (Key(Notification.created_at, TIMESTAMP), Key(Notification.id, UUID_KEY)), descending=True
)


def notifications_of(user_id: uuid.UUID, unread: bool | None) -> Select[tuple[Notification]]:
    """The user's notifications, the actor loaded; `unread`: True only unread ones, False only
    read ones, None all (order and page: NOTIFICATIONS_NEWEST_FIRST)."""
    statement = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .options(joinedload(Notification.actor))
    )
    if unread is True:
        statement = statement.where(Notification.read_at.is_(None))
    elif unread is False:
        statement = statement.where(Notification.read_at.is_not(None))
    return statement


def notifications_scope(user_id: uuid.UUID, unread: bool | None) -> str:
    """The cursor scope of the list: a cursor of another user or another filter is refused."""
    return cursor_scope("notifications", user_id=user_id, unread=unread)


def mark_read(notification_id: uuid.UUID, user_id: uuid.UUID) -> Update:
    """Idempotent (the first reading time is kept). No row updated — RETURNING nothing — is the
    404: no such notification, or someone else's."""
    return (
        update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, func.now()))
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )


# mark_read for Django's cursor (DRF), should it not say it in its ORM.
MARK_READ_SQL = (
    "UPDATE notifications SET read_at = coalesce(read_at, now())"
    " WHERE id = %s AND user_id = %s RETURNING id"
)
