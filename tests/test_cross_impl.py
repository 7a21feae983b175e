"""Interchangeable (contract/DECISIONS.md "Auth" and "Pagination": tokens and cursors are
signed with SECRET_KEY in one format): implementations share one database, tokens and cursors.

For each ordered pair (A, B) of a ring over the selected implementations (both directions when
two are selected), a server of B is started on A's database: what is written through A reads
identically through B, a token minted by A works on B, a cursor from A's list continues B's
same list, a user created through A logs in through B, an event stream on either gets the
changes written through the other (fan-out through PostgreSQL), and the same requests get the
same response header names from both.
With one implementation selected, B is a second server of the same one on the same database —
the mechanism (no in-process state) is proved all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support.client import ContractClient
from support.contract import Contract
from support.factories import Account, create_account, login, unique
from support.idempotency import KEY, KEY_LOC, assert_replay, new_key
from support.problems import assert_errors, assert_problem
from support.responses import expect
from support.servers import Server, ServerProcess, start_server
from support.sse import Streams
from support.wire import assert_etag

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def peer(server: Server, peer_impl: str, contract: Contract) -> Iterator[ServerProcess]:
    if server.is_remote:
        pytest.skip("starts servers on the suite's own database (not with --base-url)")
    process = start_server(peer_impl, server.database_url)
    yield process
    process.stop()


@pytest.fixture
def b(peer: ServerProcess, contract: Contract) -> Iterator[ContractClient]:
    """Anonymous client of the peer server (B)."""
    client = ContractClient(peer.base_url, contract=contract)
    yield client
    client.close()


@pytest.fixture(scope="module")
def world(server: Server, contract: Contract) -> Iterator[dict[str, Any]]:
    """Written through A (the session server of `server.impl`); shared by the module's tests."""
    with ContractClient(server.base_url, contract=contract) as api:
        admin = api.authed(login(api, server.admin_email, server.admin_password))
        owner = create_account(api, admin, display_name="Cross Owner")
        editor = create_account(api, admin, display_name="Cross Editor")
        client = owner.client
        project = expect(
            client.post(
                "/api/v1/projects", json={"name": "cross", "description": "written through A"}
            ),
            201,
        )
        pid = project["id"]
        expect(
            client.put(f"/api/v1/projects/{pid}/members/{editor.id}", json={"role": "editor"}), 201
        )
        labels = [
            expect(
                client.post(
                    f"/api/v1/projects/{pid}/labels", json={"name": f"x-{i}", "color": "#ABCDEF"}
                ),
                201,
            )
            for i in range(3)
        ]
        tasks = [
            expect(
                client.post(
                    f"/api/v1/projects/{pid}/tasks",
                    json={
                        "title": f"cross task {i}",
                        "assignee_id": editor.id,
                        "due_date": f"2031-0{i + 1}-15",
                        "priority": ["low", "high", "urgent"][i % 3],
                        "label_ids": [labels[i % 3]["id"], labels[(i + 1) % 3]["id"]],
                    },
                ),
                201,
            )
            for i in range(5)
        ]
        expect(
            client.patch(
                f"/api/v1/tasks/{tasks[0]['id']}",
                json={"status": "in_progress", "assignee_id": None},
            ),
            200,
        )
        comments = [
            expect(
                account.client.post(
                    f"/api/v1/tasks/{tasks[0]['id']}/comments", json={"body": f"comment {i}"}
                ),
                201,
            )
            for i, account in enumerate([owner, editor, owner])
        ]
        yield {
            "owner": owner,
            "editor": editor,
            "project": project,
            "labels": labels,
            "tasks": tasks,
            "comments": comments,
        }


def _same(a: ContractClient, b: ContractClient, path: str, **params: Any) -> dict[str, Any]:
    through_a = a.get(path, params=params)
    through_b = b.get(path, params=params)
    assert through_a.status_code == through_b.status_code == 200, (through_a.text, through_b.text)
    assert through_b.json() == through_a.json(), f"{path} differs between A and B"
    assert through_b.headers.get("etag") == through_a.headers.get("etag"), path
    return through_a.json()


# Header names that belong to the connection or the HTTP server, not the application: framing
# (Content-Length or chunked), the clock, keep-alive, gunicorn's own `Server` (uvicorn runs
# without one) — and X-Request-ID, whose presence every response is held to anyway.
TRANSPORT_HEADERS = {
    "date",
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "x-request-id",
}
STALE_ETAG = '"' + "0" * 32 + '"'
CORS_ORIGIN = "https://allowed.example"  # the CORS_ORIGINS of the suite's servers


def _exchanges(world: dict[str, Any]) -> dict[str, Any]:
    """name → f(anonymous, owner, editor, side) sending one request through one side ("A" or
    "B") and returning its response: every kind of answer (200, 201, 204, 304, 400, 401, 403,
    404, 405, 412, 413, 415, 422), preflights, a CORS simple request, the documents."""
    pid = world["project"]["id"]
    task_id = world["tasks"][2]["id"]
    json_type = {"Content-Type": "application/json"}

    def not_modified(anon, owner, editor, side):
        etag = owner.get(f"/api/v1/tasks/{task_id}").headers["etag"]
        return owner.get(f"/api/v1/tasks/{task_id}", headers={"If-None-Match": etag})

    def create_then_delete_label(anon, owner, editor, side):
        label = expect(
            owner.post(
                f"/api/v1/projects/{pid}/labels",
                json={"name": f"deleted through {side}", "color": "#123456"},
            ),
            201,
        )
        return owner.delete(f"/api/v1/projects/{pid}/labels/{label['id']}")

    return {
        "getMe": lambda anon, owner, editor, side: owner.get("/api/v1/me"),
        "getProject": lambda anon, owner, editor, side: owner.get(f"/api/v1/projects/{pid}"),
        "getTask": lambda anon, owner, editor, side: owner.get(f"/api/v1/tasks/{task_id}"),
        "getTask 304": not_modified,
        "listTasks": lambda anon, owner, editor, side: owner.get(f"/api/v1/projects/{pid}/tasks"),
        "listActivity": lambda anon, owner, editor, side: owner.get(
            f"/api/v1/projects/{pid}/activity", params={"limit": 2}
        ),
        "createTask 201": lambda anon, owner, editor, side: owner.post(
            f"/api/v1/projects/{pid}/tasks", json={"title": "headers"}
        ),
        "createLabel 201": lambda anon, owner, editor, side: owner.post(
            f"/api/v1/projects/{pid}/labels",
            json={"name": f"created through {side}", "color": "#654321"},
        ),
        "deleteLabel 204": create_then_delete_label,
        "createToken 200": lambda anon, owner, editor, side: anon.post(
            "/api/v1/auth/token",
            data={"username": world["owner"].email, "password": world["owner"].password},
        ),
        "400": lambda anon, owner, editor, side: owner.post(
            "/api/v1/projects", content=b"{", headers=json_type
        ),
        "401": lambda anon, owner, editor, side: anon.get("/api/v1/me"),
        "403": lambda anon, owner, editor, side: editor.patch(
            f"/api/v1/projects/{pid}", json={"name": "not yours"}
        ),
        "404 unknown path": lambda anon, owner, editor, side: anon.get("/api/v1/nope"),
        "404 no such task": lambda anon, owner, editor, side: owner.get(
            "/api/v1/tasks/0b7e1f52-95c4-4b0e-9a53-3d1b6f0c2a11"
        ),
        "405": lambda anon, owner, editor, side: anon.put("/api/v1/me"),
        "412": lambda anon, owner, editor, side: owner.patch(
            f"/api/v1/tasks/{task_id}", json={"title": "stale"}, headers={"If-Match": STALE_ETAG}
        ),
        "413": lambda anon, owner, editor, side: owner.post(
            "/api/v1/projects", content=b" " * (1024 * 1024 + 1), headers=json_type
        ),
        "415": lambda anon, owner, editor, side: owner.post(
            "/api/v1/projects", content=b"x", headers={"Content-Type": "text/plain"}
        ),
        "422": lambda anon, owner, editor, side: owner.get(
            "/api/v1/projects", params={"limit": "0"}
        ),
        "preflight allowed": lambda anon, owner, editor, side: anon.options(
            f"/api/v1/tasks/{task_id}",
            headers={
                "Origin": CORS_ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Authorization, If-Match",
            },
        ),
        "preflight foreign": lambda anon, owner, editor, side: anon.options(
            "/api/v1/projects",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        ),
        "CORS simple request": lambda anon, owner, editor, side: owner.get(
            "/api/v1/me", headers={"Origin": CORS_ORIGIN}
        ),
        "listNotifications": lambda anon, owner, editor, side: owner.get(
            "/api/v1/me/notifications", params={"unread": "true"}
        ),
        "markNotificationRead 404": lambda anon, owner, editor, side: owner.post(
            "/api/v1/me/notifications/0b7e1f52-95c4-4b0e-9a53-3d1b6f0c2a11/read"
        ),
        "streamProjectEvents 401": lambda anon, owner, editor, side: anon.get(
            f"/api/v1/projects/{pid}/events"
        ),
        "streamProjectEvents 404": lambda anon, owner, editor, side: owner.get(
            "/api/v1/projects/0b7e1f52-95c4-4b0e-9a53-3d1b6f0c2a11/events"
        ),
        "streamProjectEvents 422": lambda anon, owner, editor, side: owner.get(
            f"/api/v1/projects/{pid}/events", headers={"Last-Event-ID": "x"}
        ),
        "healthz": lambda anon, owner, editor, side: anon.get("/healthz"),
        "readyz": lambda anon, owner, editor, side: anon.get("/readyz"),
        "openapi.json": lambda anon, owner, editor, side: anon.get("/openapi.json"),
        "docs": lambda anon, owner, editor, side: anon.get("/docs"),
        "docs asset": lambda anon, owner, editor, side: anon.get("/docs/assets/swagger-ui.css"),
    }


def test_a_user_created_through_a_reads_and_logs_in_through_b(
    admin: ContractClient, api: ContractClient, b: ContractClient
) -> None:
    password = "cross-implementation-password"
    user = expect(
        admin.post(
            "/api/v1/users",
            json={
                "email": "Cross.User@Example.COM",
                "display_name": "Cross User",
                "password": password,
            },
        ),
        201,
    )
    token_b = login(b, "cross.user@example.com", password)  # argon2 hash written by A
    me_b = expect(b.authed(token_b).get("/api/v1/me"), 200)
    assert me_b == user
    me_a = expect(api.authed(token_b).get("/api/v1/me"), 200)  # B's token works on A
    assert me_a == user
    token_a = login(api, user["email"], password)
    assert expect(b.authed(token_a).get(f"/api/v1/users/{user['id']}"), 200) == user


def test_everything_written_through_a_reads_identically_through_b(
    world: dict[str, Any], b: ContractClient
) -> None:
    owner: Account = world["owner"]
    a_client, b_client = owner.client, b.authed(owner.token)  # A's token on B
    project_id = world["project"]["id"]
    assert _same(a_client, b_client, "/api/v1/me")["id"] == owner.id
    project = _same(a_client, b_client, f"/api/v1/projects/{project_id}")
    assert project["task_counts"] == {"todo": 4, "in_progress": 1, "done": 0}
    _same(a_client, b_client, "/api/v1/projects", limit=100)
    members = _same(a_client, b_client, f"/api/v1/projects/{project_id}/members")
    assert [m["user"]["display_name"] for m in members["items"]] == ["Cross Editor", "Cross Owner"]
    _same(a_client, b_client, f"/api/v1/projects/{project_id}/labels")
    tasks = _same(a_client, b_client, f"/api/v1/projects/{project_id}/tasks", limit=100)
    assert len(tasks["items"]) == 5
    for task in world["tasks"]:
        got = _same(a_client, b_client, f"/api/v1/tasks/{task['id']}")
        assert len(got["labels"]) == 2
    first = world["tasks"][0]["id"]
    comments = _same(a_client, b_client, f"/api/v1/tasks/{first}/comments")
    assert [c["body"] for c in comments["items"]] == ["comment 0", "comment 1", "comment 2"]
    activity = _same(a_client, b_client, f"/api/v1/projects/{project_id}/activity", limit=100)
    verbs = [entry["verb"] for entry in activity["items"]]
    assert verbs[0] == "comment.created" and verbs[-1] == "project.created"
    updated = next(e for e in activity["items"] if e["verb"] == "task.updated")
    assert updated["changes"] == {
        "status": ["todo", "in_progress"],
        "assignee_id": [world["editor"].id, None],
    }


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/projects/{project}/tasks", {}),
        ("/api/v1/projects/{project}/tasks", {"sort": "priority", "status": ["todo"]}),
        ("/api/v1/projects/{project}/tasks", {"sort": "-due_date", "label_id": "{label}"}),
        ("/api/v1/projects/{project}/activity", {}),
        ("/api/v1/tasks/{task}/comments", {}),
        ("/api/v1/users", {"q": "cross"}),
    ],
)
def test_a_cursor_minted_by_a_continues_on_b(
    world: dict[str, Any], b: ContractClient, path: str, params: dict[str, Any]
) -> None:
    owner: Account = world["owner"]
    names = {
        "project": world["project"]["id"],
        "task": world["tasks"][0]["id"],
        "label": world["labels"][0]["id"],
    }
    path = path.format(**names)
    params = {k: (v.format(**names) if isinstance(v, str) else v) for k, v in params.items()}
    first = expect(owner.client.get(path, params={**params, "limit": 1}), 200)
    assert first["next_cursor"], f"{path}: the first page of 1 should have a next cursor"
    page = {**params, "limit": 1, "cursor": first["next_cursor"]}
    through_a = expect(owner.client.get(path, params=page), 200)
    through_b = expect(b.authed(owner.token).get(path, params=page), 200)
    assert through_b == through_a
    assert through_b["items"] and through_b["items"] != first["items"]


def test_writes_through_b_read_through_a(world: dict[str, Any], b: ContractClient) -> None:
    owner: Account = world["owner"]
    b_client = b.authed(owner.token)
    task = world["tasks"][1]
    current = expect(owner.client.get(f"/api/v1/tasks/{task['id']}"), 200)
    etag = owner.client.get(f"/api/v1/tasks/{task['id']}").headers["etag"]
    changed = b_client.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": "renamed by B"}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == current["version"] + 1
    assert expect(owner.client.get(f"/api/v1/tasks/{task['id']}"), 200) == changed.json()
    stale = owner.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": "stale"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    comment = expect(
        b_client.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "from B"}), 201
    )
    listed = expect(owner.client.get(f"/api/v1/tasks/{task['id']}/comments"), 200)
    assert comment in listed["items"]


# ------------------------------------------------------------------------ contract 1.1


def test_an_etag_minted_by_a_matches_on_b(world: dict[str, Any], b: ContractClient) -> None:
    """Representation ETags (DECISIONS "Wire format") are equal across implementations: a
    validator from A gives 304 and passes If-Match on B, and the other way round."""
    owner: Account = world["owner"]
    editor: Account = world["editor"]
    a_owner, b_owner = owner.client, b.authed(owner.token)
    project = expect(a_owner.post("/api/v1/projects", json={"name": "etags across"}), 201)
    project_path = f"/api/v1/projects/{project['id']}"
    expect(a_owner.put(f"{project_path}/members/{editor.id}", json={"role": "viewer"}), 201)
    created = a_owner.post(f"{project_path}/tasks", json={"title": "validated everywhere ✓"})
    task_path = f"/api/v1/tasks/{created.json()['id']}"

    # Per caller, for the project; one for every member, for the task.
    for account in (owner, editor):
        for path in (project_path, task_path):
            tag = assert_etag(account.client.get(path))
            through_b = b.authed(account.token).get(path, headers={"If-None-Match": tag})
            expect(through_b, 304)
            assert through_b.headers.get_list("etag") == [tag], path

    # A comment through B changes the task's representation on both.
    seen_on_a = assert_etag(a_owner.get(task_path))
    expect(b_owner.post(f"{task_path}/comments", json={"body": "from B"}), 201)
    fresh = a_owner.get(task_path, headers={"If-None-Match": seen_on_a})
    expect(fresh, 200)
    current = assert_etag(fresh)

    # If-Match: A's validator passes on B; the tag B answers with validates on A.
    assert_problem(
        b_owner.patch(task_path, json={"priority": "low"}, headers={"If-Match": seen_on_a}), 412
    )
    changed = b_owner.patch(task_path, json={"priority": "low"}, headers={"If-Match": current})
    expect(changed, 200)
    expect(a_owner.get(task_path, headers={"If-None-Match": assert_etag(changed)}), 304)
    assert_problem(
        a_owner.patch(task_path, json={"priority": "high"}, headers={"If-Match": current}), 412
    )
    project_tag = assert_etag(a_owner.get(project_path))
    renamed = b_owner.patch(
        project_path, json={"name": "renamed by B"}, headers={"If-Match": project_tag}
    )
    expect(renamed, 200)
    expect(a_owner.get(project_path, headers={"If-None-Match": assert_etag(renamed)}), 304)


def test_an_idempotent_create_through_a_replays_through_b(
    world: dict[str, Any], admin: ContractClient, b: ContractClient
) -> None:
    """Keys live in PostgreSQL (DECISIONS "Idempotent creates"): the first response, stored by
    A, is replayed byte for byte by B, and B refuses another request with A's key."""
    owner: Account = world["owner"]
    assert admin.token is not None
    b_owner, b_admin = b.authed(owner.token), b.authed(admin.token)
    pid = expect(owner.client.post("/api/v1/projects", json={"name": "keys across"}), 201)["id"]
    task = expect(owner.client.post(f"/api/v1/projects/{pid}/tasks", json={"title": "t"}), 201)

    def user() -> dict[str, Any]:
        email = f"{unique('cross-key')}@example.com"
        return {"email": email, "display_name": "Keyed", "password": "a cross-impl password"}

    creates: list[tuple[ContractClient, ContractClient, str, Callable[[], dict[str, Any]]]] = [
        (admin, b_admin, "/api/v1/users", user),
        (owner.client, b_owner, "/api/v1/projects", lambda: {"name": unique("keyed")}),
        (
            owner.client,
            b_owner,
            f"/api/v1/projects/{pid}/labels",
            lambda: {"name": unique("k"), "color": "#010203"},
        ),
        (owner.client, b_owner, f"/api/v1/projects/{pid}/tasks", lambda: {"title": unique("k")}),
        (
            owner.client,
            b_owner,
            f"/api/v1/tasks/{task['id']}/comments",
            lambda: {"body": unique("keyed")},
        ),
    ]
    for through_a, through_b, path, make_body in creates:
        key, body = new_key(), make_body()
        first = through_a.post(path, json=body, headers={KEY: key})
        expect(first, 201)
        assert_replay(first, through_b.post(path, json=body, headers={KEY: key}))
        assert_errors(
            through_b.post(path, json=make_body(), headers={KEY: key}),
            (KEY_LOC, "idempotency_key_reused"),
        )
        # And the other way round: stored by B, replayed by A.
        key, body = new_key(), make_body()
        first = through_b.post(path, json=body, headers={KEY: key})
        expect(first, 201)
        assert_replay(first, through_a.post(path, json=body, headers={KEY: key}))


# ------------------------------------------------------------------------ contract 1.2


def test_a_subscriber_on_one_receives_what_the_other_writes(
    world: dict[str, Any], api: ContractClient, b: ContractClient
) -> None:
    """Fan-out through PostgreSQL (SPEC section 7): a stream on A gets a change written through
    B, and a stream on B one written through A, each event the entry as both list it; the two
    streams answer with the same header names."""
    owner: Account = world["owner"]
    editor: Account = world["editor"]
    a_owner, b_owner, b_editor = owner.client, b.authed(owner.token), b.authed(editor.token)
    project = expect(a_owner.post("/api/v1/projects", json={"name": "fan-out"}), 201)
    pid = project["id"]
    expect(a_owner.put(f"/api/v1/projects/{pid}/members/{editor.id}", json={"role": "editor"}), 201)
    url = f"/api/v1/projects/{pid}/events"
    streams = Streams()
    try:
        on_a = streams.subscribe(api.authed(owner.token), url)
        on_b = streams.subscribe(b_editor, url)
        names = [
            {key.lower() for key in stream.headers} - TRANSPORT_HEADERS for stream in (on_a, on_b)
        ]
        assert names[0] == names[1], f"stream headers: A {sorted(names[0])}, B {sorted(names[1])}"

        written = [
            expect(b_editor.post(f"/api/v1/projects/{pid}/tasks", json={"title": "by B"}), 201),
            expect(a_owner.post(f"/api/v1/projects/{pid}/tasks", json={"title": "by A"}), 201),
        ]
        entries = list(
            reversed(_same(a_owner, b_owner, f"/api/v1/projects/{pid}/activity", limit=2)["items"])
        )
        assert [e["target_id"] for e in entries] == [t["id"] for t in written]
        last_seen: dict[str, str | None] = {}
        for side, stream in (("A", on_a), ("B", on_b)):
            events = stream.events(2, 10.0)
            last_seen[side] = events[-1].id
            assert [e.event for e in events] == ["activity", "activity"]
            assert [e.json() for e in events] == entries
            assert events[0].seq < events[1].seq
        # Resuming on one where the other left off.
        resumed = streams.subscribe(b_owner, url, headers={"Last-Event-ID": last_seen["A"]})
        expect(a_owner.patch(f"/api/v1/projects/{pid}", json={"description": "x"}), 200)
        (update,) = resumed.events(1, 10.0)
        assert update.json()["verb"] == "project.updated"
        assert resumed.quiet(0.5) == []
    finally:
        streams.close()


# Last in the module: its creates add rows to `world`'s project, which the tests above count.
def test_the_same_requests_get_the_same_header_names(
    world: dict[str, Any], api: ContractClient, b: ContractClient
) -> None:
    """Identical on the wire means the same headers too, not only the ones the contract names:
    DRF's `Allow` on every response went unseen while only named headers were compared.
    Compared: the *names* of the response headers (values are compared where they are
    specified), minus TRANSPORT_HEADERS."""
    owner: Account = world["owner"]
    editor: Account = world["editor"]
    sides = {
        "A": (api, owner.client, editor.client),
        "B": (b, b.authed(owner.token), b.authed(editor.token)),
    }
    differences = []
    for name, send in _exchanges(world).items():
        got = {}
        for side, clients in sides.items():
            response = send(*clients, side)
            names = {key.lower() for key in response.headers} - TRANSPORT_HEADERS
            got[side] = (response.status_code, names)
        (status_a, names_a), (status_b, names_b) = got["A"], got["B"]
        if status_a != status_b:
            differences.append(f"{name}: status {status_a} through A, {status_b} through B")
        elif names_a != names_b:
            differences.append(
                f"{name} ({status_a}): only through A {sorted(names_a - names_b)}, "
                f"only through B {sorted(names_b - names_a)}"
            )
    assert not differences, "A and B answer with other headers:\n" + "\n".join(differences)
