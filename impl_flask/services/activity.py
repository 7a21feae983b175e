"""The activity trail (SPEC §6): appended in the transaction of the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from impl_flask import db
from impl_flask.pagination import paginate
from impl_flask.permissions import require_role
from impl_flask.security import current_user
from shared.cursors import INT, scope
from shared.keyset import Key, Keyset
from shared.orm import Activity

_NEWEST_FIRST = Keyset((Key(Activity.seq, INT),), descending=True)


def record(
    project_id: uuid.UUID,
    verb: str,
    target_type: str,
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
    query = (
        select(Activity)
        .where(Activity.project_id == project_id)
        .options(joinedload(Activity.actor))
    )
    return paginate(query, _NEWEST_FIRST, limit, cursor, scope("activity", project_id=project_id))
