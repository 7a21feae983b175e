"""Reading the activity log (contract/DECISIONS.md "Behaviour details"): entries in a comparable
shape, what a request added, and the task.updated entries of one task (the activity invariant:
every change of a task's version has one)."""

from __future__ import annotations

from typing import Any

import httpx

from support.pagination import activity
from support.paths import task_url
from support.responses import get_json

Shape = tuple[str, str, str, Any, str]  # (verb, target_type, target_id, changes, actor id)


def entry_shape(entries: list[dict[str, Any]]) -> list[Shape]:
    """(verb, target_type, target_id, changes, actor id) per entry, in the given order."""
    return [
        (e["verb"], e["target_type"], e["target_id"], e["changes"], e["actor"]["id"])
        for e in entries
    ]


def added_since(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries `after` has on top of `before` (both newest first), oldest first; asserts
    that nothing older changed."""
    count = len(after) - len(before)
    assert count >= 0 and after[count:] == before, "older activity entries changed"
    return list(reversed(after[:count]))


def task_updates(entries: list[dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    """The `task.updated` entries of one task among `entries`."""
    return [e for e in entries if e["verb"] == "task.updated" and e["target_id"] == task_id]


def assert_invariant(client: httpx.Client, project: Any, task_ids: list[str]) -> dict[str, int]:
    """For each task: its version − 1 (the bumps since creation) equals its number of
    `task.updated` entries, read through the API. Returns the versions."""
    entries = activity(client, project)
    versions = {}
    for task_id in task_ids:
        version = get_json(client, task_url(task_id))["version"]
        updates = task_updates(entries, task_id)
        assert version - 1 == len(updates), (
            f"task {task_id}: version {version} (bumped {version - 1} times) but "
            f"{len(updates)} task.updated entries: {[u['changes'] for u in updates]}"
        )
        versions[task_id] = version
    return versions
