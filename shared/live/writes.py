"""What writers call inside their transactions for the live part (migration 0006), as SQLAlchemy
statements for the three SQLAlchemy implementations and as SQL for Django's cursor:

- `activity_lock(project_id)` right before inserting activity entries of the project (after
  the transaction's last row lock), so entries commit in `seq` order per project;
- `task_assigned(...)` in createTask / updateTask when the assignee is set or changes: the
  `task.assigned` notification (not to oneself, not for no assignee) and, with a webhook URL
  configured, its outbox row — one SQL function, so the rule and the webhook body are written
  once."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select

ACTIVITY_LOCK_SQL = "SELECT activity_lock(%s)"
TASK_ASSIGNED_SQL = "SELECT notify_task_assigned(%s, %s, %s, %s, %s)"


def activity_lock(project_id: uuid.UUID) -> Select[tuple[None]]:
    return select(func.activity_lock(project_id))


def task_assigned(
    task_id: uuid.UUID,
    project_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    actor_id: uuid.UUID,
    *,
    webhook: bool,
) -> Select[tuple[uuid.UUID | None]]:
    """The notification's id, or NULL when there is none to write. `webhook`: whether
    NOTIFY_WEBHOOK_URL is set (then an outbox row is written too)."""
    return select(func.notify_task_assigned(task_id, project_id, assignee_id, actor_id, webhook))
