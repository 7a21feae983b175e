"""The audit trail: every change appends an entry in the transaction that makes it
(listActivity reads it through impl_drf.selectors.activity_of; streamProjectEvents sends it).

Before inserting, each function takes the project's activity lock (migration 0006,
shared.live.writes): `seq` is drawn when the row is formed, so without it two writers of a
project could commit 11 before 10, and a stream that has sent 11 would never send 10. The lock
is released at commit; every write path takes its row locks first and records activity last,
so no writer holding it then waits for a row lock. Explicit calls rather than a signal:
bulk_create sends none."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection

from impl_drf.models import Activity, User
from shared.live.writes import ACTIVITY_LOCK_SQL
from shared.vocabulary import ActivityTargetType, ActivityVerb


def _lock_activity(project_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute(ACTIVITY_LOCK_SQL, [project_id])


def record(
    project_id: uuid.UUID,
    actor: User,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: uuid.UUID,
    changes: dict[str, list[Any]] | None = None,
) -> Activity:
    _lock_activity(project_id)
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
    entries = [
        Activity(
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.TASK_UPDATED,
            target_type=ActivityTargetType.TASK,
            target_id=task_id,
            changes=changes,
        )
        for task_id, changes in changes_by_task
    ]
    if entries:
        _lock_activity(project_id)
        Activity.objects.bulk_create(entries)
