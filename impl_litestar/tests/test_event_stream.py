"""What Litestar's event stream must do that the black-box suite cannot see from outside: the
request's session goes back to the pool before the stream starts (db.RequestSessionMiddleware
keeps the session object for the whole response), the subscription is released however the
response ends, and the per-process cap answers 503 + Retry-After and admits again once a
stream has ended.

The app runs in-process under a real uvicorn (in a thread), so its pool and hub can be looked
at; the database is QUARTET_TEST_DATABASE_URL's server when set, else a throwaway embedded
PostgreSQL.

    .venv/bin/pytest impl_litestar/tests/test_event_stream.py
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

from impl_litestar import live
from impl_litestar.app import create_app
from shared import embedded_pg, tokens
from shared.live.hub_async import AsyncHub
from shared.settings import load_settings

WAIT_SECONDS = 10.0  # generous: the machine is shared


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, migrated database (shared.embedded_pg.throwaway_database)."""
    with embedded_pg.throwaway_database(
        "litestar_live", os.environ.get("QUARTET_TEST_DATABASE_URL")
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
        return self.app.state[live.HUB_KEY]

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (the hub's listener runs in it)."""
        task = self.hub._listener_task
        assert task is not None
        return task.get_loop()

    def checked_out(self) -> int:
        """Request-pool connections lent out right now."""
        return self.app.state.sessionmaker.kw["bind"].pool.checkedout()

    def events_url(self) -> str:
        return f"{self.base_url}/api/v1/projects/{self.project_id}/events"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


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
        monkeypatch.setenv("SECRET_KEY", "litestar-live-test-secret-key-0123456789")
        monkeypatch.delenv("NOTIFY_WEBHOOK_URL", raising=False)
        if max_streams is not None:
            monkeypatch.setattr(
                live, "AsyncHub", functools.partial(AsyncHub, max_streams=max_streams)
            )
        # Not get_settings(): it is cached per process, and another test of this xdist worker
        # may have cached it with another DATABASE_URL.
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
        self._context = client.stream("GET", running.events_url(), headers=running.auth())
        response = self._context.__enter__()
        assert response.status_code == 200, response.read()
        # Kept: dropping a line iterator mid-body makes httpcore close the connection.
        self.lines = response.iter_lines()
        assert next(self.lines) == ": ping"

    def close(self) -> None:
        self._context.__exit__(None, None, None)


def test_a_stream_holds_no_pooled_connection(serve: Callable[..., Running]) -> None:
    """Not while it waits to subscribe (the hub's reads of a process take turns on its one
    reader connection, so that wait can be long), nor while it streams."""
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
    """The ASGI server reports the client gone as soon as the response starts: Litestar cancels
    the body before its iterator ever runs (so no `finally` in it runs), and the subscription
    must still be closed."""
    running = serve()
    received = iter([{"type": "http.request", "body": b"", "more_body": False}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(received, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = f"/api/v1/projects/{running.project_id}/events"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {running.token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    # In the server's event loop: the hub's asyncio objects belong to it.
    asyncio.run_coroutine_threadsafe(running.app(scope, receive, send), running.loop).result(
        WAIT_SECONDS
    )
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert running.hub.streams == 0


def test_past_the_cap_a_stream_is_refused_with_retry_after(
    serve: Callable[..., Running],
) -> None:
    running = serve(max_streams=2)
    with httpx.Client(timeout=WAIT_SECONDS) as client:
        first, second = Stream(client, running), Stream(client, running)
        refused = client.get(running.events_url(), headers=running.auth())
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
