"""The caller's notifications (listNotifications, markNotificationRead)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import Blueprint
from impl_flask.schemas import NotificationPageSchema, NotificationQuerySchema
from impl_flask.services import notifications
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix=API_PREFIX,
    description=TAG_DESCRIPTIONS["notifications"],
)


@blp.route("/me/notifications")
class MyNotifications(TransactionalView):
    @blp.doc(operationId="listNotifications")
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    @blp.problems(401, 422, 500)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """List the caller's notifications

        Newest first. `unread=true`: the unread ones only; `unread=false`: the read ones only.
        """
        return notifications.list_notifications(
            query.get("unread"), query["limit"], query.get("cursor")
        )


@blp.route("/me/notifications/<uuid:notification_id>/read")
class NotificationRead(TransactionalView):
    @blp.doc(operationId="markNotificationRead")
    @blp.response(204)
    @blp.problems(401, 404, 422, 500)
    def post(self, notification_id: uuid.UUID) -> None:
        """Mark a notification as read

        Idempotent: a notification already read keeps its first reading time. No request body.
        """
        notifications.mark_notification_read(notification_id)
