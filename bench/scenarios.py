"""The scenarios: which requests each one sends, built from the loaded data set.

A scenario is a cycle of request kinds (`pattern`); each kind is a list of ready requests, or
`patch`, which the Lua script builds per request (If-Match with the task's current ETag). The
same requests in the same order go to every server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bench.dataset import BENCH_PASSWORD, Dataset, DatasetSpec

API = "/api/v1"
CONNECTIONS = 32
LOGIN_CONNECTIONS = 2  # argon2id at 64 MiB per login: a login form's concurrency, not a list's
LOGIN_MIN_SECONDS = 3  # a login costs ~0.3 s of CPU: shorter windows see a handful
MAX_RETRY_SECONDS = 20
LIVE_MIN_SECONDS = 5  # a live scenario's writer or clients run at least this long per point

# The SPA session mix: 70% reads, 25% writes, 5% comments, interleaved.
MIXED = (
    "get",
    "list",
    "get",
    "patch",
    "list",
    "get",
    "create",
    "projects",
    "get",
    "list",
    "patch",
    "get",
    "comment",
    "list",
    "get",
    "patch",
    "list",
    "create",
    "get",
    "list",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str  # a measurement point, e.g. "list-tasks" or "scale@100k"
    title: str
    pattern: tuple[str, ...]
    connections: int = CONNECTIONS
    writes: bool = False
    list_project: str = "hot"
    group: str = ""  # the user-facing scenario it belongs to ("scale"), if not itself
    min_seconds: int = 1
    # A window that completes fewer requests than this is measured again, longer: with every
    # connection's first request sent at once, a slow server may answer none in a short window.
    min_requests: int = 30
    # "wrk": requests sent by wrk; "fanout" and "assistant": the live scenarios, measured by
    # their own client processes (bench/live.py), on the implementations only (no floor).
    kind: str = "wrk"

    def seconds(self, duration: float) -> float:
        return max(duration, self.min_seconds)

    def retry_seconds(self, seconds: float, completed: int) -> float | None:
        """How long to measure again after a window that completed `completed` requests, or
        None when the window was enough (the longer window aims at twice the minimum)."""
        if completed >= self.min_requests:
            return None
        per_second = completed / seconds if completed else 0.0
        wanted = 2 * self.min_requests / per_second if per_second else 4 * seconds
        return float(min(MAX_RETRY_SECONDS, max(2 * seconds, round(wanted))))

    @property
    def option(self) -> str:
        return self.group or self.name

    @property
    def live(self) -> bool:
        return self.kind != "wrk"


def scenarios(spec: DatasetSpec | None = None) -> dict[str, Scenario]:
    scale = (spec or DatasetSpec()).scale_tasks
    points = {
        "list-tasks": Scenario("list-tasks", "a page of 20 tasks, filtered and sorted", ("list",)),
        "get-task": Scenario("get-task", "one task", ("get",)),
        "list-projects": Scenario(
            "list-projects", "the caller's first page of projects", ("projects",)
        ),
        "create-task": Scenario(
            "create-task", "create a task (labels, assignee, activity)", ("create",), writes=True
        ),
        "patch-task": Scenario("patch-task", "edit a task with If-Match", ("patch",), writes=True),
        "mixed": Scenario(
            "mixed", "SPA session: 70% reads, 25% writes, 5% comments", MIXED, writes=True
        ),
        "login": Scenario(
            "login",
            "password grant, argon2id at the production profile",
            ("login",),
            connections=LOGIN_CONNECTIONS,
            min_seconds=LOGIN_MIN_SECONDS,
            min_requests=6,
        ),
    }
    for size in scale:
        points[f"scale@{_size(size)}"] = Scenario(
            f"scale@{_size(size)}",
            f"the task list in a project of {size:,} tasks",
            ("list",),
            list_project=f"scale-{size}",
            group="scale",
        )
    points["events-fanout"] = Scenario(
        "events-fanout",
        "event streams: subscribers on one worker while a writer makes 50 changes/s",
        (),
        writes=True,
        kind="fanout",
        min_seconds=LIVE_MIN_SECONDS,
    )
    points["assistant-slow-upstream"] = Scenario(
        "assistant-slow-upstream",
        "the assistant streaming from an upstream at 20 ms per token × 20 tokens",
        (),
        kind="assistant",
        min_seconds=LIVE_MIN_SECONDS,
    )
    return points


# After each start, before the first measurement: every kind of request but login, so pools are
# filled and every statement has been prepared once.
WARM_UP = Scenario("warm-up", "every request kind but login", MIXED, writes=True)

SCENARIO_OPTIONS = (
    "list-tasks",
    "get-task",
    "list-projects",
    "create-task",
    "patch-task",
    "mixed",
    "login",
    "scale",
    "events-fanout",
    "assistant-slow-upstream",
    "live",
)
LIVE_OPTIONS = ("events-fanout", "assistant-slow-upstream")
# A session without --scenario: the wrk scenarios. The live ones take minutes per server (each
# holds up to a thousand streams or clients per point, several points, and waits for every
# delivery), so they are asked for by name, or all at once with `--scenario live`.
DEFAULT_OPTIONS = tuple(o for o in SCENARIO_OPTIONS if o not in (*LIVE_OPTIONS, "live"))


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def select(names: list[str], spec: DatasetSpec | None = None) -> list[Scenario]:
    """The measurement points of the chosen scenarios, in the canonical order."""
    chosen = set(names or DEFAULT_OPTIONS)
    if "live" in chosen:
        chosen.update(LIVE_OPTIONS)
    return [point for point in scenarios(spec).values() if point.option in chosen]


# ------------------------------------------------------------------------------ requests


def list_queries(dataset: Dataset, project_key: str) -> list[str]:
    """The task-list pages the scenarios ask for: an SPA's filters and sorts, first pages."""
    project = dataset.project(project_key)
    member, label = project.members[0], project.labels[0]
    variants: list[list[tuple[str, str]]] = [
        [("sort", "-created_at")],
        [("status", "todo"), ("status", "in_progress"), ("sort", "-priority")],
        [("sort", "due_date")],
        [("priority", "high"), ("priority", "urgent")],
        [("assignee_id", member), ("sort", "-created_at")],
        [("label_id", label), ("sort", "created_at")],
    ]
    base = f"{API}/projects/{project.id}/tasks"
    return [f"{base}?{urlencode(query)}" for query in variants]


def _json_body(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document, separators=(",", ":"))


def create_bodies(dataset: Dataset) -> list[dict[str, Any]]:
    write = dataset.project("write")
    bodies = []
    for n in range(8):
        body: dict[str, Any] = {
            "title": f"Bench new task {n}",
            "priority": ("low", "medium", "high", "urgent")[n % 4],
        }
        if n % 2 == 0:
            body["description"] = "Created by the benchmark. " * 4
            body["assignee_id"] = write.members[n % len(write.members)]
            body["due_date"] = f"2026-05-{10 + n:02d}"
        if n % 4 != 3:
            body["label_ids"] = write.labels[: 1 + n % 3]
        bodies.append(body)
    return bodies


COMMENT_BODY = "Bench comment: looks good to me."


def static_requests(dataset: Dataset, scenario: Scenario) -> dict[str, list[dict[str, Any]]]:
    kinds = set(scenario.pattern)
    static: dict[str, list[dict[str, Any]]] = {}
    if "list" in kinds:
        static["list"] = [
            {"method": "GET", "path": path} for path in list_queries(dataset, scenario.list_project)
        ]
    if "get" in kinds:
        hot = dataset.project("hot")
        step = max(1, hot.tasks // 200)
        static["get"] = [
            {"method": "GET", "path": f"{API}/tasks/{hot.task_id(i)}"}
            for i in range(0, hot.tasks, step)
        ][:200]
    if "projects" in kinds:
        static["projects"] = [{"method": "GET", "path": f"{API}/projects"}]
    if "create" in kinds:
        write = dataset.project("write")
        static["create"] = [
            {
                "method": "POST",
                "path": f"{API}/projects/{write.id}/tasks",
                "body": _json_body(body),
                "content_type": "application/json",
            }
            for body in create_bodies(dataset)
        ]
    if "comment" in kinds:
        static["comment"] = [
            {
                "method": "POST",
                "path": f"{API}/tasks/{task_id}/comments",
                "body": _json_body({"body": COMMENT_BODY}),
                "content_type": "application/json",
            }
            for task_id in dataset.comment_pool()
        ]
    if "login" in kinds:
        static["login"] = [
            {
                "method": "POST",
                "path": f"{API}/auth/token",
                "no_auth": True,
                "content_type": "application/x-www-form-urlencoded",
                "body": urlencode(
                    {"username": f"bench-user-{n:03d}@example.com", "password": BENCH_PASSWORD}
                ),
            }
            for n in range(1, min(len(dataset.user_ids), 101))
        ]
    return static


def lua_data(
    dataset: Dataset,
    scenario: Scenario,
    *,
    token: str,
    threads: int,
    etags: dict[str, str],
    state_file: str,
) -> dict[str, Any]:
    uses_pool = "patch" in scenario.pattern
    return {
        "pattern": list(scenario.pattern),
        "static": static_requests(dataset, scenario),
        "pool": dataset.patch_pool() if uses_pool else [],
        "etags": dict(etags) if uses_pool else {},
        "token": token,
        "threads": threads,
        "state_file": state_file if uses_pool else "",
    }


def kind_weights(scenario: Scenario) -> dict[str, float]:
    return {
        kind: scenario.pattern.count(kind) / len(scenario.pattern)
        for kind in dict.fromkeys(scenario.pattern)
    }
