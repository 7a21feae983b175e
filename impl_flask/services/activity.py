"""The activity trail (listActivity): appended in the transaction of the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import require_role
from impl_flask.security import current_user
from shared import selects
from shared.cursors import scope
from shared.orm import Activity
from shared.vocabulary import ActivityTargetType, ActivityVerb


def record(
    project_id: uuid.UUID,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: uuid.UUID,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    db.session().add(
        Activity(
            project_id=project_id,
            actor_id=current_user().id,
            verb=verb,
            target_type=target_type,
            target_id=target_id,
            changes=changes or {},
        )
    )


def list_activity(project_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    """Newest first: `seq` is the commit-independent order entries were recorded in."""
    require_role(project_id)
    return paginate(
        selects.activity_of(project_id),
        selects.ACTIVITY_NEWEST_FIRST,
        limit,
        cursor,
        scope("activity", project_id=project_id),
    )
