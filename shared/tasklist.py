"""The task list's filters and sort, as parsed from the query string by any implementation, and
the cursor scope they pin a cursor to (contract/DECISIONS.md, "Pagination")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shared.cursors import scope
from shared.vocabulary import TaskPriority, TaskSort, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: Sequence[TaskStatus] = ()  # any of
    priority: Sequence[TaskPriority] = ()  # any of
    assignee_id: uuid.UUID | None = None
    label_id: uuid.UUID | None = None
    due_before: dt.date | None = None  # exclusive; tasks without a due date never match
    q: str | None = None  # case-insensitive substring of the title
    sort: TaskSort = TaskSort.NEWEST

    def cursor_scope(self, project_id: uuid.UUID) -> str:
        """The scope of the list these filters make of `project_id`'s tasks."""
        return scope(
            "tasks",
            project_id=project_id,
            status=[str(s) for s in self.status],
            priority=[str(p) for p in self.priority],
            assignee_id=self.assignee_id,
            label_id=self.label_id,
            due_before=self.due_before,
            q=self.q,
            sort=self.sort.value,
        )
