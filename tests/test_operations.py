"""Operations (getHealth, getReadiness; contract/DECISIONS.md "Operations"; README): probes, a
database that is down, 500s that leak nothing, graceful shutdown on SIGTERM."""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Any

import httpx
import psycopg
import pytest

from shared.processes import free_port
from support.client import ContractClient
from support.factories import Account
from support.problems import assert_problem

# What a 500 must never show: stack traces, driver/ORM/framework names, SQL, the failing table.
LEAKS = [
    re.compile(r"traceback", re.I),
    re.compile(
        r"sqlalchemy|asyncpg|psycopg|django|starlette|litestar|werkzeug|flask|pydantic", re.I
    ),
    re.compile(r"labels_renamed|relation \"|does not exist", re.I),
    re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE)\b"),
    re.compile(r"\.py\b|/[\w.-]+/[\w.-]+"),  # file paths
    re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b"),  # CamelCase class names
    re.compile(r"\b\w+(Error|Exception)\b"),
]


def test_healthz(api: ContractClient) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz(api: ContractClient) -> None:
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.slow
def test_database_down_liveness_ok_readiness_503(spawn_server, contract) -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/quartet"
    extra = spawn_server(dead)  # must start: liveness does not need the database
    with ContractClient(extra.base_url, contract=contract) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
        assert_problem(response, 503)
        assert elapsed < 10, f"/readyz took {elapsed:.1f} s (the budget is 2 s to the database)"
        assert client.get("/healthz").status_code == 200


@pytest.mark.slow
def test_database_url_with_libpq_parameters(server, spawn_server, contract) -> None:
    """DATABASE_URL is a libpq URL (shared.database): its query parameters, such as
    `sslmode`, are part of it and must not break the driver an implementation uses."""
    separator = "&" if "?" in server.database_url else "?"
    extra = spawn_server(
        f"{server.database_url}{separator}sslmode=disable&application_name=quartet-suite"
    )
    with ContractClient(extra.base_url, contract=contract) as client:
        response = client.get("/readyz")
        assert response.status_code == 200, response.text
        token = client.post(
            "/api/v1/auth/token",
            data={"username": server.admin_email, "password": server.admin_password},
        )
        assert token.status_code == 200, token.text


def test_500_leaks_nothing_and_the_server_recovers(
    server, db: psycopg.Connection, make_user, make_project, make_label
) -> None:
    owner: Account = make_user()
    project = make_project(owner)
    make_label(project, owner)
    path = f"/api/v1/projects/{project['id']}/labels"
    db.execute("ALTER TABLE labels RENAME TO labels_renamed_for_test")
    try:
        response = owner.client.get(path)
    except httpx.TransportError as exc:
        log = server.process.log_tail(15) if server.process else ""
        raise AssertionError(
            f"the server dropped the connection instead of answering a 500 "
            f"problem ({exc!r}); its log ends with:\n{log}"
        ) from None
    finally:
        db.execute("ALTER TABLE labels_renamed_for_test RENAME TO labels")
    body = assert_problem(response, 500)
    assert set(body) == {"type", "title", "status", "detail"}, body
    text = response.text
    leaks = [
        pattern.pattern
        for pattern in LEAKS
        if pattern.search(body["detail"])
        or pattern.search(text.replace('"Internal Server Error"', ""))
    ]
    assert not leaks, f"the 500 body leaks internals ({leaks}): {text}"
    # The failure was confined to that request.
    for _ in range(3):  # a driver may need one round to drop a statement cache
        recovered = owner.client.get(path)
        if recovered.status_code == 200:
            break
    assert recovered.status_code == 200, recovered.text
    assert len(recovered.json()["items"]) == 1


def _wait_for_lock_wait(db: psycopg.Connection, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the request never reached the database lock")


@pytest.mark.slow
def test_sigterm_finishes_in_flight_requests_then_exits_0(
    server, spawn_server, db, make_user, make_project, contract
) -> None:
    owner: Account = make_user()
    project = make_project(owner)
    extra = spawn_server()
    outcome: dict[str, Any] = {}

    def in_flight() -> None:
        with ContractClient(extra.base_url, contract=contract, token=owner.token) as client:
            try:
                outcome["response"] = client.get(f"/api/v1/projects/{project['id']}")
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                outcome["error"] = exc

    with psycopg.connect(server.database_url) as locker:  # a transaction holds the lock
        locker.execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=in_flight, daemon=True)
        thread.start()
        _wait_for_lock_wait(db)
        extra.terminate()
        time.sleep(1.0)  # let the server stop listening
        assert extra.process.poll() is None, "exited while a request was in flight"
        with (
            pytest.raises((httpx.ConnectError, ConnectionRefusedError)),
            socket.create_connection(("127.0.0.1", extra.port), timeout=2),
        ):
            pass
        locker.rollback()  # release the lock: the in-flight request can finish
    thread.join(30)
    assert not thread.is_alive(), "the in-flight request never completed"
    assert "error" not in outcome, f"the in-flight request failed: {outcome.get('error')!r}"
    assert outcome["response"].status_code == 200, outcome["response"].text
    assert outcome["response"].json()["id"] == project["id"]
    code = extra.wait(35)
    assert code == 0, f"exit status {code}; output:\n{extra.log_tail()}"
