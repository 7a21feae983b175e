"""The audit trail of a project."""

from __future__ import annotations

from fastapi import APIRouter

from impl_fastapi.db import Session
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import ActivityPage, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import activity
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1", tags=["activity"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


@router.get(
    "/projects/{project_id}/activity",
    operation_id="listActivity",
    summary="List the activity of a project",
    response_model=ActivityPage,
    responses=problem_responses(401, 404, 422),
)
async def list_activity(
    project_id: ResourceId,
    page: PageQuery,
    user: CurrentUser,
    session: Session,
    settings: SettingsDep,
) -> Page[orm.Activity]:
    return await activity.list_activity(session, settings, user, project_id, page)
