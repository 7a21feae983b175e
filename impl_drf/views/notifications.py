"""/api/v1/me/notifications (listNotifications) and
/api/v1/me/notifications/{notification_id}/read (markNotificationRead)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.openapi import problems
from impl_drf.serializers import NotificationListQuerySerializer, NotificationSerializer
from impl_drf.services import notifications
from impl_drf.views.base import ContractViewSet, KeysetListMixin
from shared.notifications import notifications_scope


class NotificationViewSet(KeysetListMixin, ContractViewSet):
    """The caller's own notifications: nobody sees or marks anyone else's (404)."""

    http_method_names = ["get", "post", "head"]
    serializer_class = NotificationSerializer
    query_serializer_classes = {"list": NotificationListQuerySerializer}
    keyset = selectors.NOTIFICATIONS_NEWEST_FIRST
    schema_tags = ["notifications"]

    def cursor_scope(self) -> str:
        # The scope every implementation mints, so a cursor pages in any of them.
        return notifications_scope(self.request.user.id, self.validated_query.get("unread"))

    @extend_schema(
        operation_id="listNotifications",
        summary="List the caller's notifications",
        parameters=[NotificationListQuerySerializer],
        responses={200: NotificationSerializer(many=True), **problems(401, 422)},
    )
    def list(self, request: Request) -> Response:
        unread = self.validated_query.get("unread")
        page = self.paginate_queryset(selectors.notifications_of(request.user, unread))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        operation_id="markNotificationRead",
        summary="Mark a notification as read",
        request=None,
        responses={204: None, **problems(401, 404, 422)},
    )
    def mark_read(self, request: Request, notification_id: uuid.UUID) -> Response:
        notifications.mark_notification_read(notification_id, request.user)
        return Response(status=204)
