"""The audit trail: every change appends an entry in the transaction that makes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import insert
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


async def record_task_updates(
    session: AsyncSession,
    *,
    project_id: UUID,
    actor: orm.User,
    changes_by_task: Iterable[tuple[UUID, dict[str, list[Any]]]],
) -> None:
    """One `task.updated` per task whose version a bulk statement bumped (the activity invariant),
    in task id order, in one INSERT: `seq` numbers the rows in the order they are given."""
    rows = [
        {
            "project_id": project_id,
            "actor_id": actor.id,
            "verb": ActivityVerb.TASK_UPDATED.value,
            "target_type": ActivityTargetType.TASK.value,
            "target_id": task_id,
            "changes": changes,
        }
        for task_id, changes in sorted(changes_by_task, key=lambda entry: entry[0])
    ]
    if rows:
        await session.execute(insert(orm.Activity), rows)


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
