"""The `changes` of an activity entry: `{field: [old, new]}` for the fields that changed, each value
spelled as a request body spells it (contract/DECISIONS.md, "Behaviour details")."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from shared.timefmt import format_date

# A task's writable fields other than its labels, as both ORMs name the attributes.
_TASK_COLUMNS = ("title", "description", "status", "priority", "assignee_id", "due_date")


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields of `new` whose JSON value differs from `old`; values already in request form."""
    return {field: [old[field], value] for field, value in new.items() if old[field] != value}


def request_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parsed field values back in request form: uuids as strings, dates as YYYY-MM-DD, label
    ids as a sorted list of strings, so two values compare equal exactly when their JSON does."""
    form: dict[str, Any] = {}
    for field, value in values.items():
        if field == "label_ids":
            form[field] = sorted(str(label_id) for label_id in value)
        elif isinstance(value, uuid.UUID):
            form[field] = str(value)
        elif isinstance(value, dt.date):
            form[field] = format_date(value)
        else:
            form[field] = value
    return form


def task_request_form(task: Any, label_ids: Iterable[uuid.UUID | str]) -> dict[str, Any]:
    """A task's writable fields in request form (a SQLAlchemy or a Django task alike)."""
    return request_form(
        {**{column: getattr(task, column) for column in _TASK_COLUMNS}, "label_ids": label_ids}
    )
