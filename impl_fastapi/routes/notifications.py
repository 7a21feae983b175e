"""The caller's notifications (task assignments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from impl_fastapi.db import Session
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import NotificationPage, QueryBool, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import notifications
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared.notifications import Notification

router = APIRouter(
    prefix="/api/v1", tags=["notifications"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


@router.get(
    "/me/notifications",
    operation_id="listNotifications",
    summary="List the caller's notifications",
    response_model=NotificationPage,
    responses=problem_responses(401, 422),
)
async def list_notifications(
    page: PageQuery,
    user: CurrentUser,
    session: Session,
    settings: SettingsDep,
    unread: Annotated[
        QueryBool | None,
        Query(description="`true`: the unread ones only; `false`: the read ones only."),
    ] = None,
) -> Page[Notification]:
    return await notifications.list_notifications(session, settings, user, unread, page)


@router.post(
    "/me/notifications/{notification_id}/read",
    operation_id="markNotificationRead",
    summary="Mark a notification as read",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 404, 422),
)
async def mark_notification_read(
    notification_id: ResourceId, user: CurrentUser, session: Session
) -> None:
    await notifications.mark_notification_read(session, user, notification_id)
