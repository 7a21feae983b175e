"""The activity trail (SPEC §6): appended in the transaction of the change it records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from impl_flask import db, pagination
from impl_flask.security import current_user, require_role
from shared.orm import Activity


def record(project_id: uuid.UUID, verb: str, target_type: str, target_id: uuid.UUID,
           changes: dict[str, list[Any]] | None = None) -> None:
    db.session().add(Activity(project_id=project_id, actor_id=current_user().id, verb=verb,
                              target_type=target_type, target_id=target_id,
                              changes=changes or {}))


def list_activity(project_id: uuid.UUID, limit: int, cursor: str | None) -> dict[str, Any]:
    """Newest first: `seq` is the commit-independent order entries were recorded in."""
    require_role(project_id)
    scope_id = pagination.scope("activity", project_id=project_id)
    start = pagination.after(cursor, scope_id, pagination.as_int)
    query = (select(Activity).where(Activity.project_id == project_id)
             .options(joinedload(Activity.actor)).order_by(Activity.seq.desc()).limit(limit + 1))
    if start is not None:
        query = query.where(Activity.seq < start[0])
    rows = db.session().scalars(query).all()
    return pagination.page(rows, limit, scope_id, lambda a: [a.seq])
