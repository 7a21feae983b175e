"""The floors' request logic, driven without a database: the statements it sends, the JSON and
headers it answers (the equal-JSON check against the implementations runs in every session)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from bench.floors import logic
from bench.floors.wsgi import psycopg_sql
from bench.runner import mint_token
from bench.servers import SECRET_KEY

USER = {
    "id": uuid.UUID(int=1),
    "email": "a@example.com",
    "display_name": "Ada",
    "is_admin": False,
    "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
}
TASK_ID = uuid.UUID(int=7)
PROJECT_ID = uuid.UUID(int=9)
TASK_ROW = {
    "id": TASK_ID,
    "project_id": PROJECT_ID,
    "title": "T",
    "description": "",
    "status": "todo",
    "priority": "high",
    "priority_rank": 2,
    "due_date": dt.date(2026, 3, 1),
    "created_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC),
    "version": 3,
    "assignee_id": None,
    "assignee_email": None,
    "assignee_name": None,
    "created_by": uuid.UUID(int=1),
    "creator_email": "a@example.com",
    "creator_name": "Ada",
    "comment_count": 2,
}


@pytest.fixture(autouse=True)
def bench_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The floors read the servers' SECRET_KEY through shared.settings (cached per process)."""
    from shared.settings import get_settings

    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def drive(request: logic.Request, answer: Any) -> tuple[logic.Reply, list[str]]:
    handler, sent, result = logic.handle(request), [], None
    while True:
        try:
            step = handler.send(result)
        except StopIteration as done:
            return done.value, sent
        sent.append(step.sql.split()[0] if isinstance(step, logic.Statement) else "blocking")
        result = answer(step)


def get(path: str, token: str | None = None, **headers: str) -> logic.Request:
    if token:
        headers["authorization"] = f"Bearer {token}"
    return logic.Request("GET", path, "", headers, b"")


def _etag_of(body: Any) -> str:
    """Contract 1.1's ETag, spelled out here rather than taken from shared.httputil: the
    SHA-256 of the body's canonical JSON (keys sorted, no whitespace, UTF-8), 32 hex digits."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def test_get_task_answers_the_contract_representation_with_its_etag() -> None:
    def answer(step: logic.Statement) -> Any:
        if step.sql == logic.AUTH_SQL:
            return USER
        if step.sql == logic.VISIBLE_TASK_SQL:
            return TASK_ROW
        if step.sql == logic.LABELS_SQL:
            return [{"task_id": TASK_ID, "id": uuid.UUID(int=3), "name": "bug", "color": "#D73A4A"}]
        raise AssertionError(step.sql)

    reply, sent = drive(
        get(f"/api/v1/tasks/{TASK_ID}", mint_token(str(USER["id"])), **{"x-request-id": "abc-1"}),
        answer,
    )
    assert reply.status == 200
    assert sent == ["SELECT"] * 3  # user, the task if the caller is a member, labels
    assert orjson.loads(reply.body) == {
        "id": str(TASK_ID),
        "project_id": str(PROJECT_ID),
        "title": "T",
        "description": "",
        "status": "todo",
        "priority": "high",
        "assignee": None,
        "labels": [{"id": str(uuid.UUID(int=3)), "name": "bug", "color": "#D73A4A"}],
        "due_date": "2026-03-01",
        "created_by": {
            "id": str(uuid.UUID(int=1)),
            "email": "a@example.com",
            "display_name": "Ada",
        },
        "created_at": "2026-01-02T03:04:05.000000Z",
        "updated_at": "2026-01-02T03:04:05.120000Z",
        "version": 3,
        "comment_count": 2,
    }
    headers = dict(reply.headers)
    assert (
        headers["etag"] == _etag_of(orjson.loads(reply.body)) and headers["x-request-id"] == "abc-1"
    )
    assert headers["cache-control"] == "no-store" and headers["content-type"] == "application/json"


def test_no_token_is_a_401_problem_before_any_statement() -> None:
    reply, sent = drive(get(f"/api/v1/tasks/{TASK_ID}"), lambda step: None)
    assert (reply.status, sent) == (401, [])
    assert dict(reply.headers)["www-authenticate"] == "Bearer"
    assert dict(reply.headers)["content-type"] == "application/problem+json"


def test_a_non_member_gets_404_and_an_unknown_path_too() -> None:
    def answer(step: logic.Statement) -> Any:
        return USER if step.sql == logic.AUTH_SQL else None  # no membership row: not visible

    token = mint_token(str(USER["id"]))
    assert drive(get(f"/api/v1/tasks/{TASK_ID}", token), answer)[0].status == 404
    assert drive(get("/api/v1/nothing-here", token), answer)[0].status == 404


ANSWERS = {
    logic.AUTH_SQL: USER,
    logic.TASK_STANDING_SQL: {"project_id": PROJECT_ID, "role": "editor"},
    logic.ROLE_SQL: {"role": "editor"},
    logic.LOCK_PROJECT_SQL: {"id": PROJECT_ID},
    logic.LOCK_TASK_SQL: {"version": 3},
    logic.LOCK_TASK_SHARE_SQL: {"version": 3},
    logic.TASK_SQL: TASK_ROW,
    logic.LABELS_SQL: [],
}


def test_a_stale_if_match_rolls_back_with_412() -> None:
    def answer(step: logic.Statement) -> Any:
        return ANSWERS.get(step.sql)

    request = logic.Request(
        "PATCH",
        f"/api/v1/tasks/{TASK_ID}",
        "",
        {"authorization": f"Bearer {mint_token(str(USER['id']))}", "if-match": '"2"'},
        b'{"title": "New"}',
    )
    reply, sent = drive(request, answer)
    assert reply.status == 412
    assert sent[0] == "SELECT" and sent[1] == "BEGIN" and sent[-1] == "ROLLBACK"
    assert "UPDATE" not in sent


def test_asyncpg_placeholders_become_psycopg_ones_in_argument_order() -> None:
    assert psycopg_sql("SELECT $2, $1, $2 WHERE x LIKE '%a'") == (
        "SELECT %s, %s, %s WHERE x LIKE '%%a'",
        (1, 0, 1),
    )


def _write(method: str, path: str, body: bytes, **headers: str) -> logic.Request:
    headers["authorization"] = f"Bearer {mint_token(str(USER['id']))}"
    return logic.Request(method, path, "", headers, body)


def _statements(request: logic.Request) -> tuple[logic.Reply, list[str]]:
    """The reply and the SQL sent, each statement as written in logic (or its first word)."""
    handler, sent, result = logic.handle(request), [], None
    names = {sql: name for name, sql in vars(logic).items() if name.endswith("_SQL")}
    while True:
        try:
            step = handler.send(result)
        except StopIteration as done:
            return done.value, sent
        sent.append(names.get(step.sql, step.sql.split()[0]))
        if step.sql.startswith("INSERT INTO comments"):
            result = {
                "id": uuid.UUID(int=11),
                **{k: TASK_ROW[k] for k in ("created_at", "updated_at")},
            }
        elif step.sql.startswith("INSERT INTO tasks"):
            result = {"id": TASK_ID}
        else:
            result = ANSWERS.get(step.sql, [] if step.mode == "all" else None)


def test_writes_take_the_implementations_locks_in_the_contracts_order() -> None:
    """Permission, then the project row, then the task row, then references and If-Match
    (contract/DECISIONS.md "Locks"; the implementations' services/locks.py)."""
    reply, sent = _statements(
        _write(
            "PATCH",
            f"/api/v1/tasks/{TASK_ID}",
            b'{"title": "New"}',
            **{"if-match": _etag_of(logic.task_json(TASK_ROW, []))},
        )
    )
    assert reply.status == 200
    assert sent[:8] == [
        "AUTH_SQL",
        "BEGIN",
        "TASK_STANDING_SQL",
        "LOCK_PROJECT_SQL",
        "LOCK_TASK_SQL",
        "TASK_SQL",
        "LABELS_SQL",
        "UPDATE",
    ]
    assert sent[-1] == "COMMIT"

    reply, sent = _statements(
        _write("POST", f"/api/v1/tasks/{TASK_ID}/comments", b'{"body": "Hi"}')
    )
    assert reply.status == 201
    assert sent == [
        "AUTH_SQL",
        "BEGIN",
        "TASK_STANDING_SQL",
        "LOCK_PROJECT_SQL",
        "LOCK_TASK_SHARE_SQL",
        "INSERT_COMMENT_SQL",
        "INSERT_ACTIVITY_SQL",
        "COMMIT",
    ]
    assert orjson.loads(reply.body)["author"] == {
        "id": str(USER["id"]),
        "email": "a@example.com",
        "display_name": "Ada",
    }

    reply, sent = _statements(
        _write("POST", f"/api/v1/projects/{PROJECT_ID}/tasks", b'{"title": "T"}')
    )
    assert reply.status == 201
    assert sent[:5] == ["AUTH_SQL", "BEGIN", "ROLE_SQL", "LOCK_PROJECT_SQL", "INSERT_TASK_SQL"]


def _compiled(clause: Any) -> str:
    from sqlalchemy.dialects import postgresql

    return str(clause.compile(dialect=postgresql.dialect()))


@pytest.mark.parametrize("sort", list(logic._SORTS))
def test_task_orders_are_the_implementations_orders(sort: str) -> None:
    """The floor sorts on the expressions shared/selects.py sorts on (and migration 0003
    indexes): a floor that sorted another way would do other work."""
    from shared import selects
    from shared.vocabulary import TaskSort

    expected = ", ".join(_compiled(e) for e in selects.TASK_SORTS[TaskSort(sort)].order_by())
    assert logic._SORTS[sort][0] == expected.replace("tasks.", "t.")


def test_project_task_counts_are_read_from_the_table_the_database_keeps() -> None:
    """selects.projects_of joins project_task_counts (migration 0002); the floor does too and
    counts no task."""
    from shared import selects

    implementation = _compiled(selects.projects_of(uuid.UUID(int=1)))
    assert "JOIN project_task_counts" in implementation
    assert "JOIN project_task_counts tc ON tc.project_id = p.id" in logic.PROJECTS_SQL
    assert "FROM tasks" not in logic.PROJECTS_SQL and "count(" not in logic.PROJECTS_SQL
