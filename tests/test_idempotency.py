"""Idempotent creates (contract 1.1; DECISIONS "Idempotent creates", "Errors" order of checks):
createUser, createProject, createLabel, createTask and createComment take an optional
`Idempotency-Key` (1–255 printable ASCII characters, else 422 at ["header", "idempotency-key"]),
scoped to the caller and kept 24 hours. The same key and request (method, path, canonical JSON
body) replays the first response — status, body bytes, Location, ETag — with
`Idempotent-Replayed: true` and creates nothing; another request with the key → 422
`idempotency_key_reused`; while the first is in flight → 409; a failed first attempt (4xx/5xx) is
not stored. The key is looked up after validation and before visibility."""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from support.factories import Account, unique
from support.idempotency import KEY, KEY_LOC, REPLAYED, assert_replay, new_key
from support.locks import send_together, table_locked, wait_for_lock_waiters
from support.pagination import activity, walk
from support.paths import (
    PROJECTS_URL,
    USERS_URL,
    comment_url,
    comments_url,
    label_url,
    labels_url,
    member_url,
    project_url,
    task_url,
    tasks_url,
    user_url,
)
from support.problems import Error, assert_errors, assert_problem
from support.responses import expect, get_json
from support.wire import assert_etag


@dataclass
class Create:
    """One of the five creates, ready to be sent by `caller` (and, with the same permission,
    by `second`)."""

    op: str
    caller: Account
    second: Account
    url: str
    body: Callable[[], dict[str, Any]]  # a fresh valid body
    invalid: tuple[dict[str, Any], Error]  # a body with one error, and that error
    rows: Callable[[Account, dict[str, Any]], list[str]]  # ids of the rows `body` made
    location: Callable[[dict[str, Any]], str]
    has_etag: bool
    unique_body: bool  # the resource has a unique field: a second create needs another body
    lock_table: str  # a table its INSERT must wait for while the test holds it SHARE-locked
    project: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def send(
        self,
        body: Any,
        key: str | bytes | None,
        *,
        who: Account | None = None,
        headers: dict[str, Any] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent[KEY] = key
        return (who or self.caller).client.post(self.url, json=body, headers=sent)

    def activity(self, project: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
        project = project or self.project
        return activity(self.caller.client, project["id"]) if project else None


CREATES = ["createUser", "createProject", "createLabel", "createTask", "createComment"]


def _by(items: list[dict[str, Any]], name: str, value: str) -> list[str]:
    return [item["id"] for item in items if item[name] == value]


@pytest.fixture
def create(request, people, make_project, add_member, make_task) -> Create:
    op = request.param
    if op == "createUser":
        caller, second = people.get(2, is_admin=True)
        return Create(
            op,
            caller,
            second,
            USERS_URL,
            body=lambda: {
                "email": f"{unique('idem')}@example.com",
                "display_name": unique("Idem"),
                "password": "an idempotent password",
            },
            invalid=(
                {"email": f"{unique('idem')}@example.com", "display_name": "No password"},
                (("body", "password"), "missing"),
            ),
            rows=lambda who, body: _by(
                walk(who.client, USERS_URL, {"q": body["email"]}), "email", body["email"]
            ),
            location=user_url,
            has_etag=False,
            unique_body=True,
            lock_table="users",
        )
    caller, second = people.get(2)
    if op == "createProject":
        return Create(
            op,
            caller,
            second,
            PROJECTS_URL,
            body=lambda: {"name": unique("Idem"), "description": "made once"},
            invalid=({"description": "no name"}, (("body", "name"), "missing")),
            rows=lambda who, body: _by(
                walk(who.client, PROJECTS_URL, limit=100), "name", body["name"]
            ),
            location=project_url,
            has_etag=True,
            unique_body=False,
            lock_table="activity",
        )
    project = make_project(caller)
    add_member(project, caller, second, "editor")
    if op == "createLabel":
        return Create(
            op,
            caller,
            second,
            labels_url(project),
            body=lambda: {"name": unique("idem"), "color": "#123abc"},
            invalid=({"name": "no color"}, (("body", "color"), "missing")),
            rows=lambda who, body: _by(
                get_json(who.client, labels_url(project))["items"], "name", body["name"]
            ),
            location=lambda label: label_url(project, label),
            has_etag=False,
            unique_body=True,
            lock_table="activity",
            project=project,
        )
    if op == "createTask":
        return Create(
            op,
            caller,
            second,
            tasks_url(project),
            body=lambda: {"title": unique("Idem"), "priority": "high", "due_date": "2031-05-01"},
            invalid=({"priority": "high"}, (("body", "title"), "missing")),
            rows=lambda who, body: _by(
                walk(who.client, tasks_url(project), {"q": body["title"]}), "title", body["title"]
            ),
            location=task_url,
            has_etag=True,
            unique_body=False,
            lock_table="activity",
            project=project,
        )
    assert op == "createComment"
    task = make_task(project, caller)
    return Create(
        op,
        caller,
        second,
        comments_url(task),
        body=lambda: {"body": unique("Said once")},
        invalid=({}, (("body", "body"), "missing")),
        rows=lambda who, body: _by(walk(who.client, comments_url(task)), "body", body["body"]),
        location=comment_url,
        has_etag=False,
        unique_body=False,
        lock_table="activity",
        project=project,
        extras={"task": task},
    )


def assert_first(create: Create, response: httpx.Response) -> dict[str, Any]:
    """A created answer that is not a replay; its body."""
    body = expect(response, 201)
    assert REPLAYED.lower() not in response.headers, "the first response is not a replay"
    assert response.headers["location"] == create.location(body)
    if create.has_etag:
        assert_etag(response)
    return body


def _project_of(create: Create, created: dict[str, Any]) -> dict[str, Any] | None:
    return created if create.op == "createProject" else create.project


# ------------------------------------------------------------------------ replay


@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_a_replay_returns_the_first_response_and_creates_nothing(create):
    key, body = new_key(), create.body()
    first = create.send(body, key)
    created = assert_first(create, first)
    project = _project_of(create, created)
    entries = create.activity(project)

    # The same request spelled differently: key order, whitespace, header name case, a query
    # string — the fingerprint is method, path and the canonical JSON of the parsed body.
    spelled_otherwise = json.dumps(dict(reversed(body.items())), indent=3).encode()
    request_id = f"replay-{uuid.uuid4().hex}"
    replay = create.caller.client.post(
        create.url,
        params={"retry": "1"},
        content=b"\n  " + spelled_otherwise + b"\n",
        headers={
            "content-type": "application/json",
            KEY.lower(): key,
            "X-Request-ID": request_id,
        },
    )
    assert_replay(first, replay)
    assert replay.headers["x-request-id"] == request_id  # the replaying request's own
    assert_replay(first, create.send(body, key))
    assert create.rows(create.caller, body) == [created["id"]]
    assert create.activity(project) == entries


@pytest.mark.parametrize("create", ["createProject", "createTask"], indirect=True)
def test_a_replay_is_the_stored_response_after_the_resource_changed(create):
    key, body = new_key(), create.body()
    first = create.send(body, key)
    created = assert_first(create, first)
    field_name = "name" if create.op == "createProject" else "title"
    changed = create.caller.client.patch(create.location(created), json={field_name: "changed"})
    expect(changed, 200)
    assert assert_etag(changed) != first.headers["etag"]
    replay = create.send(body, key)
    assert_replay(first, replay)
    assert replay.json()["version"] == 1


@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_the_same_key_with_another_body_is_422_reused(create):
    key, body = new_key(), create.body()
    first = create.send(body, key)
    assert_first(create, first)
    other = create.body()
    assert_errors(create.send(other, key), (KEY_LOC, "idempotency_key_reused"))
    assert create.rows(create.caller, other) == []
    # The refused request did not replace what the key stands for.
    assert_replay(first, create.send(body, key))


def test_the_same_key_on_another_path_or_operation_is_422_reused(people, make_project):
    [owner] = people.get(1)
    one, two = make_project(owner), make_project(owner)
    key, label = new_key(), {"name": unique("idem"), "color": "#000000"}
    expect(owner.client.post(labels_url(one), json=label, headers={KEY: key}), 201)
    assert_errors(
        owner.client.post(labels_url(two), json=label, headers={KEY: key}),
        (KEY_LOC, "idempotency_key_reused"),
    )
    assert get_json(owner.client, labels_url(two))["items"] == []
    key = new_key()
    expect(owner.client.post(PROJECTS_URL, json={"name": "p"}, headers={KEY: key}), 201)
    assert_errors(
        owner.client.post(tasks_url(one), json={"title": "p"}, headers={KEY: key}),
        (KEY_LOC, "idempotency_key_reused"),
    )
    assert walk(owner.client, tasks_url(one)) == []


@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_keys_are_per_caller(create):
    key, body = new_key(), create.body()
    first = create.send(body, key)
    mine = assert_first(create, first)
    theirs_body = create.body() if create.unique_body else body
    second = create.send(theirs_body, key, who=create.second)
    theirs = assert_first(create, second)
    assert theirs["id"] != mine["id"]
    assert_replay(first, create.send(body, key))
    assert_replay(second, create.send(theirs_body, key, who=create.second))


# ------------------------------------------------------------------------ the header's format

# Only the non-printable characters an HTTP server lets through to the application: HTAB and
# obs-text bytes. Other control characters (DEL, ...) are refused by uvicorn and gunicorn
# themselves with a plain-text 400, before any application code runs.
BAD_KEYS = {
    "empty": ("", "string_too_short"),
    "256 characters": ("k" * 256, "string_too_long"),
    "tab": ("tab\there", "string_pattern_mismatch"),
    "non-ASCII bytes": ("clé-ünïcode".encode(), "string_pattern_mismatch"),
}


@pytest.mark.parametrize("bad", list(BAD_KEYS))
@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_a_malformed_key_is_422_together_with_the_body_errors(create, bad):
    key, error_type = BAD_KEYS[bad]
    body = create.body()
    assert_errors(create.send(body, key), (KEY_LOC, error_type))
    assert create.rows(create.caller, body) == []
    invalid, body_error = create.invalid
    assert_errors(create.send(invalid, key), (KEY_LOC, error_type), body_error)


@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_any_printable_ascii_up_to_255_characters_is_a_key(create):
    printable = string.ascii_letters + string.digits + string.punctuation + " "
    key = (uuid.uuid4().hex + " " + printable + "x" * 255)[:254] + "!"
    assert len(key) == 255
    body = create.body()
    first = create.send(body, key)
    assert_first(create, first)
    assert_replay(first, create.send(body, key))


def test_a_one_character_key_is_a_key(make_user):
    user = make_user()  # a fresh user: nobody has used their keys
    first = user.client.post(PROJECTS_URL, json={"name": "one"}, headers={KEY: "x"})
    expect(first, 201)
    assert_replay(first, user.client.post(PROJECTS_URL, json={"name": "one"}, headers={KEY: "x"}))
    assert_errors(
        user.client.post(PROJECTS_URL, json={"name": "two"}, headers={KEY: "x"}),
        (KEY_LOC, "idempotency_key_reused"),
    )


# ------------------------------------------------------------------------ failures are not kept


@pytest.fixture
def board(people, make_project, add_member, make_task, make_label):
    owner, member, outsider = people.get(3)
    project = make_project(owner)
    add_member(project, owner, member, "viewer")
    return {
        "owner": owner,
        "member": member,
        "outsider": outsider,
        "project": project,
        "task": make_task(project, owner),
        "label": make_label(project, owner),
    }


def _scenario(board: dict[str, Any], case: str) -> tuple[Callable[..., Any], Any, Callable]:
    """(send(body, key), the body, a fix that makes the same request succeed) per failure."""
    b = board
    owner, member, outsider, project = b["owner"], b["member"], b["outsider"], b["project"]

    def post(who: Account, url: str) -> Callable[..., httpx.Response]:
        return lambda body, key: who.client.post(url, json=body, headers={KEY: key})

    if case == "403-viewer-creates-a-task":
        return (
            post(member, tasks_url(project)),
            {"title": unique("T")},
            lambda: owner.client.put(member_url(project, member.id), json={"role": "editor"}),
        )
    if case == "404-outsider-creates-a-task":
        return (
            post(outsider, tasks_url(project)),
            {"title": unique("T")},
            lambda: owner.client.put(member_url(project, outsider.id), json={"role": "editor"}),
        )
    if case == "404-outsider-comments":
        return (
            post(outsider, comments_url(b["task"])),
            {"body": unique("c")},
            lambda: owner.client.put(member_url(project, outsider.id), json={"role": "viewer"}),
        )
    if case == "409-duplicate-label":
        return (
            post(owner, labels_url(project)),
            {"name": b["label"]["name"].upper(), "color": "#000000"},
            lambda: owner.client.delete(label_url(project, b["label"])),
        )
    if case == "422-assignee-not-a-member":
        return (
            post(owner, tasks_url(project)),
            {"title": unique("T"), "assignee_id": outsider.id},
            lambda: owner.client.put(member_url(project, outsider.id), json={"role": "viewer"}),
        )
    raise AssertionError(case)


FAILURES = [
    "403-viewer-creates-a-task",
    "404-outsider-creates-a-task",
    "404-outsider-comments",
    "409-duplicate-label",
    "422-assignee-not-a-member",
]


@pytest.mark.parametrize("case", FAILURES)
def test_a_failed_first_attempt_is_not_stored(board, case):
    """The key was looked up (after validation) and the request then failed: nothing is kept,
    so the same request with the same key runs again once it can succeed."""
    send, body, fix = _scenario(board, case)
    key = new_key()
    status = int(case[:3])
    failed = send(body, key)
    assert_problem(failed, status)
    assert_problem(send(body, key), status)  # still no replay: a failure is never stored
    assert fix().status_code < 300
    succeeded = send(body, key)
    expect(succeeded, 201)
    assert REPLAYED.lower() not in succeeded.headers
    assert_replay(succeeded, send(body, key))


def test_a_failed_create_user_frees_the_key_for_another_body(admin, make_user):
    taken = make_user()
    key = new_key()
    body = {"email": taken.email.upper(), "display_name": "Dup", "password": "a long password!"}
    assert_problem(admin.post(USERS_URL, json=body, headers={KEY: key}), 409)
    other = {**body, "email": f"{unique('idem')}@example.com"}
    created = admin.post(USERS_URL, json=other, headers={KEY: key})
    expect(created, 201)
    assert REPLAYED.lower() not in created.headers


@pytest.mark.parametrize("create", ["createTask", "createUser"], indirect=True)
def test_an_invalid_first_attempt_leaves_the_key_free(create):
    key = new_key()
    invalid, error = create.invalid
    assert_errors(create.send(invalid, key), error)
    body = create.body()
    first = create.send(body, key)
    assert_first(create, first)
    assert_replay(first, create.send(body, key))


# ------------------------------------------------------------------------ order of checks


@pytest.mark.parametrize("create", ["createTask", "createLabel"], indirect=True)
def test_validation_comes_before_the_key(create):
    key, body = new_key(), create.body()
    assert_first(create, create.send(body, key))
    invalid, error = create.invalid
    assert_errors(create.send(invalid, key), error)  # not idempotency_key_reused


def test_the_key_is_looked_up_before_visibility(people, make_project, add_member):
    """DECISIONS "Errors" 6–7: a caller who has lost access still gets the replay of what they
    created (and `reused` for another body) — a new key gets the 404."""
    owner, editor = people.get(2)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    key, body = new_key(), {"title": unique("T")}
    first = editor.client.post(tasks_url(project), json=body, headers={KEY: key})
    expect(first, 201)
    expect(owner.client.delete(member_url(project, editor.id)), 204)
    assert_replay(first, editor.client.post(tasks_url(project), json=body, headers={KEY: key}))
    assert_errors(
        editor.client.post(tasks_url(project), json={"title": "other"}, headers={KEY: key}),
        (KEY_LOC, "idempotency_key_reused"),
    )
    assert_problem(editor.client.post(tasks_url(project), json=body, headers={KEY: new_key()}), 404)


# ------------------------------------------------------------------------ 24 hours


@pytest.mark.parametrize("create", ["createProject", "createComment"], indirect=True)
def test_a_key_is_kept_24_hours(create, db):
    key, body = new_key(), create.body()
    first = create.send(body, key)
    mine = assert_first(create, first)

    def age(interval: str) -> None:
        changed = db.execute(
            "UPDATE idempotency_keys SET created_at = now() - %s::interval"
            " WHERE user_id = %s AND key = %s",
            (interval, create.caller.id, key),
        ).rowcount
        assert changed == 1, "the key is stored in idempotency_keys (migration 0004)"

    age("23 hours 59 minutes")
    assert_replay(first, create.send(body, key))
    assert_errors(create.send(create.body(), key), (KEY_LOC, "idempotency_key_reused"))
    age("24 hours 1 minute")
    again = create.send(body, key)  # as good as absent: runs again
    second = assert_first(create, again)
    assert second["id"] != mine["id"]
    assert sorted(create.rows(create.caller, body)) == sorted([mine["id"], second["id"]])
    assert_replay(again, create.send(body, key))  # and is stored anew


@pytest.mark.parametrize("create", ["createTask"], indirect=True)
def test_an_expired_key_takes_another_body(create, db):
    key = new_key()
    assert_first(create, create.send(create.body(), key))
    db.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'"
        " WHERE user_id = %s AND key = %s",
        (create.caller.id, key),
    )
    other = create.body()
    replaced = create.send(other, key)
    assert_first(create, replaced)
    assert_replay(replaced, create.send(other, key))


# ------------------------------------------------------------------------ in flight


@pytest.mark.parametrize("create", CREATES, indirect=True)
def test_the_same_key_in_flight_is_409(create, server, db, api):
    """The first request holds its key (a lock taken in its transaction) while it waits for a
    table the test has locked; the same key meanwhile — same body or not — gets 409 at once;
    another caller's same key is not blocked by it. Released: one row each, then replays."""
    key, body = new_key(), create.body()
    theirs_body = create.body() if create.unique_body else body
    first_client = api.authed(create.caller.token)
    second_client = api.authed(create.second.token)
    with (
        ThreadPoolExecutor(2) as pool,
        table_locked(server.database_url, create.lock_table, "SHARE") as locker,
    ):
        first = pool.submit(first_client.post, create.url, json=body, headers={KEY: key})
        wait_for_lock_waiters(db, 1)
        assert_problem(create.send(body, key), 409)
        assert_problem(create.send(create.body(), key), 409)
        theirs = pool.submit(second_client.post, create.url, json=theirs_body, headers={KEY: key})
        wait_for_lock_waiters(db, 2)
        locker.rollback()
        first_response, theirs_response = first.result(), theirs.result()
    mine = assert_first(create, first_response)
    theirs = assert_first(create, theirs_response)
    assert_replay(first_response, create.send(body, key))
    # One row each (a project's list shows the second caller's too when the bodies are equal).
    shared_list = theirs_body == body and create.project is not None
    expected = sorted([mine["id"], theirs["id"]] if shared_list else [mine["id"]])
    assert sorted(create.rows(create.caller, body)) == expected


@pytest.mark.parametrize("create", ["createProject", "createTask", "createComment"], indirect=True)
def test_racing_requests_with_one_key_make_one_row(create, api):
    """Sent together (no lock held by the test; also against --base-url): one creates, the
    other gets the replay or 409 — never a second row."""
    clients = [api.authed(create.caller.token), api.authed(create.caller.token)]
    for _ in range(3):
        key, body = new_key(), create.body()
        responses = send_together(
            [partial(c.post, create.url, json=body, headers={KEY: key}) for c in clients]
        )
        firsts = [
            r for r in responses if r.status_code == 201 and REPLAYED.lower() not in r.headers
        ]
        assert len(firsts) == 1, [(r.status_code, r.headers.get(REPLAYED)) for r in responses]
        [other] = [r for r in responses if r is not firsts[0]]
        if other.status_code == 409:
            assert_problem(other, 409)
        else:
            assert_replay(firsts[0], other)
        assert create.rows(create.caller, body) == [firsts[0].json()["id"]]
