"""The per-project activity lock (migration 0006's `activity_lock`) taken by the SQLAlchemy
session itself, right before it inserts activity — for the three SQLAlchemy implementations, so
no write path can forget it:

- a flush with new `Activity` objects (`session.add(Activity(...))`) locks their projects
  first (`before_flush`: after the statements the transaction has run so far, so after its row
  locks);
- an ORM bulk `insert(Activity)` executed on the session locks the projects of its rows first
  (`do_orm_execute`).

Use `ActivityLockingSession` as the session class: `sessionmaker(engine,
class_=ActivityLockingSession)`, or `async_sessionmaker(engine,
sync_session_class=ActivityLockingSession)`. A plain Core `connection.execute(insert(...))`
bypasses it: call shared.live.writes.activity_lock there yourself."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from shared.live.writes import activity_lock
from shared.orm import Activity


class ActivityLockingSession(Session):
    pass


def _lock(session: Session, project_ids: Iterable[uuid.UUID]) -> None:
    # In a fixed order: two transactions locking two projects each never deadlock on them.
    for project_id in sorted(set(project_ids), key=str):
        session.execute(activity_lock(project_id))


@event.listens_for(ActivityLockingSession, "before_flush")
def _lock_before_flushing_activity(session: Session, _context: Any, _instances: Any) -> None:
    _lock(session, (o.project_id for o in session.new if isinstance(o, Activity)))


@event.listens_for(ActivityLockingSession, "do_orm_execute")
def _lock_before_inserting_activity(state: ORMExecuteState) -> None:
    if not state.is_insert:
        return
    table = getattr(state.statement, "table", None)
    if table is None or table.name != Activity.__tablename__:
        return
    parameters = state.parameters
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    _lock(state.session, (row["project_id"] for row in rows if "project_id" in row))
