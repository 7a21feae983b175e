"""The audit trail: every change appends an entry in the transaction that makes it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.pagination import Page, PageParams, paginate
from impl_fastapi.permissions import require_project_role
from shared import orm, selects
from shared.cursors import scope
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def record(
    session: AsyncSession,
    *,
    project_id: UUID,
    actor: orm.User,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: UUID,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    session.add(
        orm.Activity(
            project_id=project_id,
            actor_id=actor.id,
            verb=verb.value,
            target_type=target_type.value,
            target_id=target_id,
            changes=changes or {},
        )
    )


async def list_activity(
    session: AsyncSession, settings: Settings, user: orm.User, project_id: UUID, params: PageParams
) -> Page[orm.Activity]:
    await require_project_role(session, project_id, user, Role.VIEWER)
    return await paginate(
        session,
        selects.activity_of(project_id),
        selects.ACTIVITY_NEWEST_FIRST,
        params,
        scope("activity", project_id=project_id),
        settings,
    )
