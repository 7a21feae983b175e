"""The audit trail: every change appends an entry in the transaction that makes it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.pagination import PageParams, Window, paginate
from shared import selects
from shared.cursors import scope
from shared.orm import Activity, User
from shared.settings import Settings
from shared.vocabulary import ActivityTargetType, ActivityVerb


def record(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    actor: User,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: uuid.UUID,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    session.add(
        Activity(
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
    project_id: uuid.UUID,
    actor: User,
    changes_by_task: dict[uuid.UUID, dict[str, list[Any]]],
) -> None:
    """One `task.updated` per task, in task id order (the activity invariant: every version bump
    of a task has its entry; contract/DECISIONS.md, "Behaviour details"). One statement for
    all of them; the rows are inserted, and so numbered (`seq`), in that order."""
    if not changes_by_task:
        return
    await session.execute(
        insert(Activity),
        [
            {
                "project_id": project_id,
                "actor_id": actor.id,
                "verb": ActivityVerb.TASK_UPDATED.value,
                "target_type": ActivityTargetType.TASK.value,
                "target_id": task_id,
                "changes": changes_by_task[task_id],
            }
            for task_id in sorted(changes_by_task)  # uuid order is PostgreSQL's
        ],
    )


async def list_activity(
    session: AsyncSession, settings: Settings, project_id: uuid.UUID, params: PageParams
) -> Window:
    """Newest first: `seq` is the order the entries were written in."""
    return await paginate(
        session,
        selects.activity_of(project_id),
        selects.ACTIVITY_NEWEST_FIRST,
        params,
        scope("activity", project_id=project_id),
        settings,
    )
