"""The per-project audit trail."""

from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.pagination import DEFAULT_LIMIT, Cursor, Limit, PageParams
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.schemas import Activity, Page
from impl_litestar.services import activity
from impl_litestar.settings import AppSettings


class ActivityController(Controller):
    path = "/projects/{project_id:str}/activity"
    tags = ["activity"]
    security = BEARER

    @get(
        "/",
        operation_id="listActivity",
        summary="List the activity of a project",
        dependencies={"access": project_role()},
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def list_activity(
        self,
        db_session: AsyncSession,
        settings: AppSettings,
        access: ProjectAccess,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[Activity]:
        """Newest first, in the order the entries were recorded."""
        window = await activity.list_activity(
            db_session, settings, access.project_id, PageParams(limit, cursor)
        )
        return Page([Activity.of(entry) for entry in window.rows], window.next_cursor)
