"""The audit trail: every change appends an entry in the transaction that makes it
(listActivity reads it through impl_drf.selectors.activity_of)."""

from __future__ import annotations

import uuid
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
