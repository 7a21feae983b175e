"""No N+1 (contract/DECISIONS.md "One SQL shape"): a list endpoint issues the same number of SQL
statements for a page of 2 as for a page of 25, with every embedded relation populated; and any
read request, a list or one resource, issues at most READ_BOUND statements, BEGIN and COMMIT
included (authentication, visibility, the rows, their labels).

An extra server of the implementation talks to PostgreSQL through `shared.pgproxy`, which
counts 'Q' (simple query) and 'E' (execute) messages on the wire. Each measurement is the
minimum of two runs, so a background task of the server cannot inflate it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from shared.pgproxy import CountingProxy
from support.client import ContractClient
from support.contract import Contract
from support.factories import login
from support.responses import expect
from support.servers import Server, ServerProcess, start_server

pytestmark = pytest.mark.slow

BIG = 26  # more than a page of 25, so a page of 25 is full and has a next cursor
READ_BOUND = 4
RUNS = 2


@dataclass
class World:
    owner: ContractClient  # through the proxied server
    proxy: CountingProxy
    user_prefix: str
    project_small: str
    project_big: str
    assignee_id: str
    label_id: str
    task_big: str
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def measure(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        samples = []
        body: dict[str, Any] = {}
        for _ in range(RUNS):
            self.proxy.settle()
            before = self.proxy.count
            body = expect(self.owner.get(path, params=params), 200)
            self.proxy.settle()
            samples.append(self.proxy.count - before)
        return min(samples), body


def _build(main: ContractClient, admin: ContractClient, database_url: str) -> dict[str, Any]:
    """The data, written through the session's main server (same database)."""
    tag = uuid.uuid4().hex[:8]
    password = f"password-{uuid.uuid4().hex}"
    users = [
        expect(
            admin.post(
                "/api/v1/users",
                json={
                    "email": f"qb-{tag}-{i:02}@example.com",
                    "display_name": f"qb-{tag}-{i:02}",
                    "password": password,
                },
            ),
            201,
        )
        for i in range(2)
    ]
    # The other members never log in: inserted in one statement (a password hash nobody can
    # match) instead of paying for 24 argon2 hashes.
    with psycopg.connect(database_url, autocommit=True) as conn:
        users += [
            {"id": str(row[0])}
            for row in conn.execute(
                "INSERT INTO users (email, display_name, password_hash)"
                " SELECT format('qb-%%s-%%s@example.com', %s::text, lpad(n::text, 2, '0')),"
                "        format('qb-%%s-%%s', %s::text, lpad(n::text, 2, '0')), '!'"
                " FROM generate_series(2, %s) AS n ORDER BY n RETURNING id",
                (tag, tag, BIG - 1),
            ).fetchall()
        ]
    owner_user, assignee_user = users[0], users[1]
    owner = main.authed(login(main, owner_user["email"], password))
    assignee = main.authed(login(main, assignee_user["email"], password))

    projects = [
        expect(owner.post("/api/v1/projects", json={"name": f"qb {tag} {i}"}), 201)
        for i in range(BIG)
    ]
    small, big = projects[0]["id"], projects[1]["id"]
    for user in users[1:]:  # big: 26 members with the owner
        expect(
            owner.put(f"/api/v1/projects/{big}/members/{user['id']}", json={"role": "editor"}), 201
        )
    expect(
        owner.put(
            f"/api/v1/projects/{small}/members/{assignee_user['id']}", json={"role": "editor"}
        ),
        201,
    )

    labels = [
        expect(
            owner.post(
                f"/api/v1/projects/{big}/labels", json={"name": f"label {i:02}", "color": "#112233"}
            ),
            201,
        )
        for i in range(BIG)
    ]
    for i in range(2):
        expect(
            owner.post(
                f"/api/v1/projects/{small}/labels",
                json={"name": f"label {i:02}", "color": "#112233"},
            ),
            201,
        )

    # Every task matches every filter, so every filtered page of 25 is full.
    tasks = []
    for i in range(BIG):
        task = expect(
            owner.post(
                f"/api/v1/projects/{big}/tasks",
                json={
                    "title": f"budget task {i:02}",
                    "status": "todo",
                    "priority": "high",
                    "assignee_id": assignee_user["id"],
                    "due_date": f"2030-01-{i + 1:02}",
                    "label_ids": [labels[0]["id"], labels[1 + i % (BIG - 1)]["id"]],
                },
            ),
            201,
        )
        tasks.append(task)
        author = owner if i % 2 else assignee
        expect(
            author.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": f"comment on {i}"}),
            201,
        )
    task_big = tasks[0]["id"]
    for i in range(BIG - 1):
        author = owner if i % 2 else assignee
        expect(author.post(f"/api/v1/tasks/{task_big}/comments", json={"body": f"more {i}"}), 201)
    return {
        "prefix": f"qb-{tag}-",
        "owner_email": owner_user["email"],
        "password": password,
        "small": small,
        "big": big,
        "assignee": assignee_user["id"],
        "label": labels[0]["id"],
        "task_big": task_big,
    }


@pytest.fixture(scope="module")
def world(server: Server, contract: Contract) -> Iterator[World]:
    if server.is_remote:
        pytest.skip("needs the server's database (not with --base-url)")
    with ContractClient(server.base_url, contract=contract) as main:
        admin = main.authed(login(main, server.admin_email, server.admin_password))
        data = _build(main, admin, server.database_url)
    proxy = CountingProxy(server.database_url).start()
    extra: ServerProcess | None = None
    try:
        extra = start_server(server.impl, proxy.url)
        client = ContractClient(extra.base_url, contract=contract)
        token = login(client, data["owner_email"], data["password"])
        world = World(
            client.authed(token),
            proxy,
            data["prefix"],
            data["small"],
            data["big"],
            data["assignee"],
            data["label"],
            data["task_big"],
        )
        yield world
        print(f"\nstatements per list request on {server.impl} (limit 2 / limit 25):")
        for name, (small, big) in world.counts.items():
            print(f"  {name:50} {small:3} / {big:3}")
        client.close()
    finally:
        if extra is not None:
            extra.stop()
        proxy.close()


TASK_FILTERS: dict[str, dict[str, Any]] = {
    "default": {},
    "status": {"status": "todo"},
    "status repeated": {"status": ["todo", "done"]},
    "priority": {"priority": ["high", "urgent"]},
    "assignee_id": {"assignee_id": "<assignee>"},
    "label_id": {"label_id": "<label>"},
    "due_before": {"due_before": "2031-01-01"},
    "q": {"q": "budget"},
    **{
        f"sort={sort}": {"sort": sort}
        for sort in ("-created_at", "created_at", "due_date", "-due_date", "priority", "-priority")
    },
    "every filter": {
        "status": ["todo"],
        "priority": ["high"],
        "assignee_id": "<assignee>",
        "label_id": "<label>",
        "due_before": "2031-01-01",
        "q": "task",
        "sort": "-priority",
    },
}


def _fill(world: World, params: dict[str, Any]) -> dict[str, Any]:
    replace = {"<assignee>": world.assignee_id, "<label>": world.label_id}
    return {k: replace.get(v, v) if isinstance(v, str) else v for k, v in params.items()}


def _paginated_cases() -> dict[str, tuple[str, dict[str, Any]]]:
    cases = {
        "listUsers (q)": ("/api/v1/users", {"q": "<prefix>"}),
        "listProjects": ("/api/v1/projects", {}),
        "listComments": ("/api/v1/tasks/<task>/comments", {}),
        "listActivity": ("/api/v1/projects/<big>/activity", {}),
    }
    for name, params in TASK_FILTERS.items():
        cases[f"listTasks {name}"] = ("/api/v1/projects/<big>/tasks", params)
    return cases


PAGINATED = _paginated_cases()


def _path(world: World, template: str) -> str:
    return (
        template.replace("<task>", world.task_big)
        .replace("<big>", world.project_big)
        .replace("<small>", world.project_small)
    )


def _check(world: World, name: str, small: int, big: int) -> None:
    world.counts[name] = (small, big)
    assert small == big, (
        f"{name}: {small} statements for a page of 2, {big} for a page of 25 "
        f"(N+1). Recent statements:\n  " + "\n  ".join(list(world.proxy.recent)[-40:])
    )
    _check_bound(world, name, big)


def _check_bound(world: World, name: str, count: int) -> None:
    assert count <= READ_BOUND, (
        f"{name}: {count} statements per request (bound {READ_BOUND}). Recent statements:\n  "
        + "\n  ".join(list(world.proxy.recent)[-3 * count :])
    )


@pytest.mark.parametrize("name", list(PAGINATED))
def test_paginated_list_statement_count_does_not_grow_with_the_page(
    world: World, name: str
) -> None:
    template, params = PAGINATED[name]
    params = {
        k: (world.user_prefix if v == "<prefix>" else v) for k, v in _fill(world, params).items()
    }
    path = _path(world, template)
    small, small_page = world.measure(path, {**params, "limit": 2})
    big, big_page = world.measure(path, {**params, "limit": 25})
    assert len(small_page["items"]) == 2 and small_page["next_cursor"], small_page
    assert len(big_page["items"]) == 25 and big_page["next_cursor"], (
        len(big_page["items"]),
        big_page["next_cursor"],
    )
    _check(world, name, small, big)


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("listMembers", "/api/v1/projects/{}/members"),
        ("listLabels", "/api/v1/projects/{}/labels"),
    ],
)
def test_unpaginated_list_statement_count_does_not_grow(
    world: World, name: str, template: str
) -> None:
    small, small_list = world.measure(template.format(world.project_small), {})
    big, big_list = world.measure(template.format(world.project_big), {})
    assert len(small_list["items"]) == 2 and len(big_list["items"]) >= BIG
    _check(world, name, small, big)


@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("getMe", "/api/v1/me"),
        ("getUser", "/api/v1/users/<assignee>"),
        ("getProject", "/api/v1/projects/<big>"),
        ("getTask", "/api/v1/tasks/<task>"),
    ],
)
def test_single_resource_read_statement_count(world: World, name: str, template: str) -> None:
    count, _ = world.measure(_path(world, template).replace("<assignee>", world.assignee_id), {})
    world.counts[name] = (count, count)
    _check_bound(world, name, count)


def test_the_proxy_counts(world: World) -> None:
    """The measurement can fail: a request that reads the database is seen by the proxy."""
    count, _ = world.measure("/api/v1/me", {})
    assert count >= 1
