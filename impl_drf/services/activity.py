"""The audit trail: every change appends an entry in the transaction that makes it
(listActivity reads it through impl_drf.selectors.activity_of)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from impl_drf.models import Activity, User
from shared.vocabulary import ActivityTargetType, ActivityVerb


def record(
    project_id: uuid.UUID,
    actor: User,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: uuid.UUID,
    changes: dict[str, list[Any]] | None = None,
) -> Activity:
    return Activity.objects.create(
        project_id=project_id,
        actor=actor,
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        changes=changes or {},
    )


def record_task_updates(
    project_id: uuid.UUID,
    actor: User,
    changes_by_task: Iterable[tuple[uuid.UUID, dict[str, list[Any]]]],
) -> None:
    """One `task.updated` per task, in the order given (task id order: `seq` follows the rows of
    the one INSERT), for a change that bumped several tasks' versions at once — the activity
    invariant (contract/DECISIONS.md, "Behaviour details")."""
    Activity.objects.bulk_create(
        Activity(
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.TASK_UPDATED,
            target_type=ActivityTargetType.TASK,
            target_id=task_id,
            changes=changes,
        )
        for task_id, changes in changes_by_task
    )
