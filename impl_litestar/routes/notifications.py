"""The caller's notifications (SPEC section 7): their inbox, and marking one read."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.schemas import Notification, Page
from impl_litestar.services import notifications
from impl_litestar.settings import AppSettings
from shared.orm import User


class NotificationController(Controller):
    path = "/me/notifications"
    tags = ["notifications"]
    security = BEARER

    @get(
        "/",
        operation_id="listNotifications",
        summary="List your notifications",
        operation_class=ContractOperation,
        responses=problem_responses(401, 422),
    )
    async def list_notifications(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        current_user: User,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        unread: Annotated[
            bool | None,
            Parameter(description="`true`: unread ones only; `false`: read ones only."),
        ] = None,
    ) -> Page[Notification]:
        """Newest first."""
        window = await notifications.list_notifications(
            db_session, settings, current_user, unread, PageParams(limit, cursor)
        )
        return Page([Notification.of(row) for row in window.rows], window.next_cursor)

    @post(
        "/{notification_id:str}/read",
        operation_id="markNotificationRead",
        summary="Mark a notification read",
        status_code=204,
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def mark_notification_read(
        self, notification_id: UUID, db_session: AsyncSession, current_user: User
    ) -> None:
        """Idempotent: marking it again keeps the first reading time."""
        await notifications.mark_notification_read(db_session, notification_id, current_user)
