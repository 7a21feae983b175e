"""The floors' request logic, driven without a database: the statements it sends, the JSON and
headers it answers (the equal-JSON check against the implementations runs in every session)."""

from __future__ import annotations

import datetime as dt
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


def test_get_task_answers_the_contract_representation_with_its_etag() -> None:
    def answer(step: logic.Statement) -> Any:
        if step.sql == logic.AUTH_SQL:
            return USER
        if step.sql == logic.PROJECT_OF_TASK_SQL:
            return {"project_id": PROJECT_ID}
        if step.sql == logic.ROLE_SQL:
            return {"role": "viewer"}
        if step.sql == logic.TASK_SQL:
            return TASK_ROW
        if step.sql == logic.LABELS_SQL:
            return [{"task_id": TASK_ID, "id": uuid.UUID(int=3), "name": "bug", "color": "#D73A4A"}]
        raise AssertionError(step.sql)

    reply, sent = drive(
        get(f"/api/v1/tasks/{TASK_ID}", mint_token(str(USER["id"])), **{"x-request-id": "abc-1"}),
        answer,
    )
    assert reply.status == 200
    assert sent == ["SELECT"] * 5  # user, project of the task, role, task, labels
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
    assert headers["etag"] == '"3"' and headers["x-request-id"] == "abc-1"
    assert headers["cache-control"] == "no-store" and headers["content-type"] == "application/json"


def test_no_token_is_a_401_problem_before_any_statement() -> None:
    reply, sent = drive(get(f"/api/v1/tasks/{TASK_ID}"), lambda step: None)
    assert (reply.status, sent) == (401, [])
    assert dict(reply.headers)["www-authenticate"] == "Bearer"
    assert dict(reply.headers)["content-type"] == "application/problem+json"


def test_a_non_member_gets_404_and_an_unknown_path_too() -> None:
    def answer(step: logic.Statement) -> Any:
        return (
            USER
            if step.sql == logic.AUTH_SQL
            else ({"project_id": PROJECT_ID} if step.sql == logic.PROJECT_OF_TASK_SQL else None)
        )

    token = mint_token(str(USER["id"]))
    assert drive(get(f"/api/v1/tasks/{TASK_ID}", token), answer)[0].status == 404
    assert drive(get("/api/v1/nothing-here", token), answer)[0].status == 404


def test_a_stale_if_match_rolls_back_with_412() -> None:
    def answer(step: logic.Statement) -> Any:
        return {
            logic.AUTH_SQL: USER,
            logic.PROJECT_OF_TASK_SQL: {"project_id": PROJECT_ID},
            logic.LOCK_PROJECT_SQL: {"id": PROJECT_ID},
            logic.ROLE_SQL: {"role": "editor"},
            logic.TASK_FOR_UPDATE_SQL: TASK_ROW,
            logic.LABELS_SQL: [],
        }.get(step.sql)

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
