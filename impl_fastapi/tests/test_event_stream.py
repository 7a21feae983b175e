"""What FastAPI's event stream must do that the black-box suite cannot see from outside: the
request's session goes back to the pool before the stream subscribes and streams (a `yield`
session dependency would keep it for the whole response), the subscription (a request-scoped
`yield` dependency) is released however the response ends, the per-process cap answers 503 +
Retry-After and admits again once a stream has ended, and `Last-Event-ID` / `last_event_id`,
checked as FastAPI parameters, say exactly what shared.live.stream.parse_last_event_id says.

The app runs in-process under a real uvicorn (in a thread), so its pool and hub can be looked
at; the database is QUARTET_TEST_DATABASE_URL's server when set, else a throwaway embedded
PostgreSQL.

    .venv/bin/pytest impl_fastapi/tests/test_event_stream.py
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from impl_fastapi import app as app_module
from impl_fastapi.app import create_app
from shared import embedded_pg, tokens
from shared.live.hub_async import AsyncHub
from shared.live.stream import InvalidLastEventId, parse_last_event_id
from shared.settings import load_settings

WAIT_SECONDS = 10.0  # generous: the machine is shared


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, migrated database (shared.embedded_pg.throwaway_database)."""
    with embedded_pg.throwaway_database(
        "fastapi_live", os.environ.get("QUARTET_TEST_DATABASE_URL")
    ) as url:
        yield url


@dataclass
class Running:
    app: Any
    base_url: str
    token: str
    project_id: uuid.UUID

    @property
    def hub(self) -> AsyncHub:
        return self.app.state.live

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (the hub's listener runs in it)."""
        task = self.hub._listener_task
        assert task is not None
        return task.get_loop()

    def checked_out(self) -> int:
        """Request-pool connections lent out right now."""
        return self.app.state.sessions.writes.kw["bind"].pool.checkedout()

    @property
    def events_path(self) -> str:
        return f"/api/v1/projects/{self.project_id}/events"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> list[dict[str, Any]]:
        """One request straight into the ASGI app, in the server's loop (the hub's asyncio
        objects belong to it), whose client is gone as soon as the response starts: the
        messages the app sent."""
        received = iter([{"type": "http.request", "body": b"", "more_body": False}])
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return next(received, {"type": "http.disconnect"})

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.events_path,
            "raw_path": self.events_path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"authorization", f"Bearer {self.token}".encode()),
                *headers,
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        asyncio.run_coroutine_threadsafe(self.app(scope, receive, send), self.loop).result(
            WAIT_SECONDS
        )
        return sent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _owner_and_project(database_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with psycopg.connect(database_url) as conn:
        user_id = conn.execute(
            "INSERT INTO users (email, display_name, password_hash) VALUES (%s, 'Streamer', 'x')"
            " RETURNING id",
            (f"stream-{uuid.uuid4().hex[:10]}@example.com",),
        ).fetchone()[0]
        project_id = conn.execute(
            "INSERT INTO projects (name, created_by) VALUES ('live', %s) RETURNING id", (user_id,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO project_members (project_id, user_id, role) VALUES (%s, %s, 'owner')",
            (project_id, user_id),
        )
    return user_id, project_id


@pytest.fixture
def serve(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Running]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(max_streams: int | None = None) -> Running:
        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("SECRET_KEY", "fastapi-live-test-secret-key-0123456789")
        monkeypatch.delenv("NOTIFY_WEBHOOK_URL", raising=False)
        monkeypatch.delenv("LLM_BASE_URL", raising=False)
        if max_streams is not None:
            monkeypatch.setattr(
                app_module, "AsyncHub", functools.partial(AsyncHub, max_streams=max_streams)
            )
        # Not get_settings(): it is cached per process, and another test of this xdist worker
        # may have read it with another DATABASE_URL.
        settings = load_settings()
        settings.check()
        app = create_app(settings)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        _wait(lambda: server.started, "the server to start")
        user_id, project_id = _owner_and_project(database_url)
        return Running(
            app, f"http://127.0.0.1:{port}", tokens.issue_token(user_id, settings), project_id
        )

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=WAIT_SECONDS)


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Stream:
    """An open stream whose first bytes (the `: ping`) have arrived; `close()` hangs up."""

    def __init__(self, client: httpx.Client, running: Running) -> None:
        self._context = client.stream(
            "GET", running.base_url + running.events_path, headers=running.auth()
        )
        response = self._context.__enter__()
        assert response.status_code == 200, response.read()
        # Kept: dropping a line iterator mid-body makes httpcore close the connection.
        self.lines = response.iter_lines()
        assert next(self.lines) == ": ping"

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def test_a_stream_holds_no_pooled_connection(serve: Callable[..., Running]) -> None:
    """Not while it waits to subscribe (a process's hub reads take turns on its one reader
    connection, so that wait can be long), nor while it streams."""
    running = serve()
    reader_lock = running.hub._reader_lock
    asyncio.run_coroutine_threadsafe(reader_lock.acquire(), running.loop).result(WAIT_SECONDS)
    opened: list[Stream] = []
    with httpx.Client(timeout=WAIT_SECONDS) as client:
        openers = [
            threading.Thread(target=lambda: opened.append(Stream(client, running)))
            for _ in range(3)
        ]
        for opener in openers:
            opener.start()
        try:
            _wait(lambda: running.hub.streams == 3, "three streams to be subscribing")
            assert running.checked_out() == 0
            me = client.get(f"{running.base_url}/api/v1/me", headers=running.auth())
            assert me.status_code == 200
        finally:
            running.loop.call_soon_threadsafe(reader_lock.release)
            for opener in openers:
                opener.join(WAIT_SECONDS)
        try:
            assert len(opened) == 3
            assert running.checked_out() == 0
        finally:
            for stream in opened:
                stream.close()


def test_a_gone_client_releases_its_subscription(serve: Callable[..., Running]) -> None:
    running = serve()
    with httpx.Client(timeout=WAIT_SECONDS) as client:
        stream = Stream(client, running)
        assert running.hub.streams == 1
        stream.close()  # closes the connection mid-stream
    _wait(lambda: running.hub.streams == 0, "the subscription to be closed")
    assert running.checked_out() == 0


def test_a_client_gone_before_the_first_byte_releases_its_subscription(
    serve: Callable[..., Running],
) -> None:
    """The client is reported gone as soon as the response starts: the body is cancelled,
    perhaps before the endpoint's generator has run at all (so no `finally` in it would run);
    the request-scoped dependency closes the subscription all the same."""
    running = serve()
    sent = running.call([])
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert running.hub.streams == 0


def test_past_the_cap_a_stream_is_refused_with_retry_after(
    serve: Callable[..., Running],
) -> None:
    running = serve(max_streams=2)
    with httpx.Client(timeout=WAIT_SECONDS) as client:
        first, second = Stream(client, running), Stream(client, running)
        refused = client.get(running.base_url + running.events_path, headers=running.auth())
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == 503
        assert running.checked_out() == 0  # the refusal released its session too
        first.close()
        _wait(lambda: running.hub.streams == 1, "the first stream to be released")
        third = Stream(client, running)  # admitted again
        for stream in (second, third):
            stream.close()
    _wait(lambda: running.hub.streams == 0, "every subscription to be closed")


RESUME_CASES = [
    (header, query)
    for header in (None, "7", " 7\t", "", "abc", "-1", "+7", "٧", "1_0", "7\x00", str(2**63))
    for query in (None, "9", "", "x", "-3", "9\x00", str(2**63 - 1), str(2**63))
]


def test_resume_parameters_say_what_the_shared_rule_says(serve: Callable[..., Running]) -> None:
    """Every combination: 422 with exactly the shared rule's (loc, type) list, or a stream. (A
    valid one's start is the suite's: resuming there.)"""
    running = serve()
    for header, query in RESUME_CASES:
        try:
            parse_last_event_id(header, query)
            expected: list[tuple[tuple[str, str], str]] = []
        except InvalidLastEventId as invalid:
            expected = invalid.errors
        headers = [] if header is None else [(b"last-event-id", header.encode())]
        query_string = b"" if query is None else b"last_event_id=" + query.encode()
        sent = running.call(headers, query_string)
        status = sent[0]["status"]
        if not expected:
            assert status == 200, (header, query, sent)
            continue
        assert status == 422, (header, query, sent)
        body = b"".join(m.get("body", b"") for m in sent[1:])
        errors = httpx.Response(422, content=body).json()["errors"]
        assert sorted((tuple(e["loc"]), e["type"]) for e in errors) == sorted(expected), (
            header,
            query,
        )
    _wait(lambda: running.hub.streams == 0, "every subscription to be closed")
