"""The `changes` of an activity entry: `{field: [old, new]}` for the fields that changed."""

from __future__ import annotations

from typing import Any


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields of `new` whose JSON value differs from `old`; values already in request form."""
    return {field: [old[field], value] for field, value in new.items() if old[field] != value}
