"""What the Flask implementation does about long calls under gunicorn's gthread worker, beyond
what the suite sees on the wire (tests/test_events.py, tests/test_assistant.py):

- a stream gives its pooled connection back before its first byte (the hub reads for it);
- the worker's long-call slots (GUNICORN_THREADS − 2) are shared by event streams and assistant
  calls, refused at once past them (503, `Retry-After: 5`), and given back — with the stream's
  subscription — when the server closes the body, even one closed before its first byte;
- SIGTERM ends open streams at once instead of holding the stop for the 30 s graceful timeout.

In-process through Flask's test client (a WSGI server's view: the body is an iterable the
server closes), and one real `quartet serve flask` for the signal. Uses
QUARTET_TEST_DATABASE_URL's server when set, else a throwaway embedded PostgreSQL.

    .venv/bin/pytest impl_flask/tests/test_live_streams.py
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared import demo, embedded_pg
from shared.live import long_calls as long_calls_module
from shared.live.stream import HEARTBEAT
from shared.problems import ASSISTANT_BUSY, STREAMS_FULL
from shared.processes import free_port
from shared.settings import get_settings

THREADS = 4  # GUNICORN_THREADS: two long-call slots
SLOTS = THREADS - 2
API = "/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, migrated database (shared.embedded_pg.throwaway_database)."""
    with embedded_pg.throwaway_database(
        "flask_live", os.environ.get("QUARTET_TEST_DATABASE_URL")
    ) as url:
        demo.seed_if_empty(url)
        yield url


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Flask]:
    settings = {
        "DATABASE_URL": database_url,
        "GUNICORN_THREADS": str(THREADS),
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",  # never reached: the slot refuses first
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    get_settings.cache_clear()
    long_calls_module._process_calls = None  # this process's slots, made with THREADS
    from impl_flask.app import create_app

    app = create_app()
    try:
        yield app
    finally:
        app.extensions["taskboard.live_hub"].close()
        engine_of(app).dispose()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()
        long_calls_module._process_calls = None


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def auth(client: FlaskClient) -> dict[str, str]:
    email, _name, _admin, _role = demo.DEMO_USERS[0]
    answer = client.post(
        f"{API}/auth/token",
        data={"grant_type": "password", "username": email, "password": demo.DEMO_PASSWORD},
    )
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


@pytest.fixture(scope="module")
def project_id(client: FlaskClient, auth: dict[str, str]) -> str:
    return client.get(f"{API}/projects", headers=auth).json["items"][0]["id"]


def open_stream(client: FlaskClient, auth: dict[str, str], project_id: str) -> TestResponse:
    """The stream as a WSGI server holds it: headers sent, body not yet read."""
    return client.get(f"{API}/projects/{project_id}/events", headers=auth, buffered=False)


def first_chunk(response: TestResponse) -> bytes:
    return next(iter(response.response))


def engine_of(app: Flask) -> Any:
    return app.extensions["taskboard.read_sessions"].kw["bind"]


def hub_of(app: Flask) -> Any:
    return app.extensions["taskboard.live_hub"]


def test_a_stream_holds_no_pool_connection(app, client, auth, project_id) -> None:
    stream = open_stream(client, auth, project_id)
    try:
        assert stream.status_code == 200
        assert first_chunk(stream) == HEARTBEAT.encode()
        assert engine_of(app).pool.checkedout() == 0
        assert hub_of(app).streams == 1
    finally:
        stream.close()
    assert hub_of(app).streams == 0


def test_streams_and_assistant_calls_share_the_slots(app, client, auth, project_id) -> None:
    calls = long_calls_module.long_calls()
    assert calls.limit == SLOTS
    streams = [open_stream(client, auth, project_id) for _ in range(SLOTS)]
    try:
        assert [s.status_code for s in streams] == [200] * SLOTS
        assert calls.in_use == SLOTS

        refused = open_stream(client, auth, project_id)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert refused.json["detail"] == STREAMS_FULL

        asked = client.post(
            f"{API}/projects/{project_id}/assistant", headers=auth, json={"question": "Why?"}
        )
        assert asked.status_code == 503
        assert asked.headers["Retry-After"] == "5"
        assert asked.json["detail"] == ASSISTANT_BUSY

        # Ordinary requests are not long calls: served whatever the slots say.
        assert client.get(f"{API}/projects/{project_id}", headers=auth).status_code == 200
    finally:
        for stream in streams:
            stream.close()
    assert calls.in_use == 0 and hub_of(app).streams == 0


def test_a_body_closed_before_its_first_byte_gives_everything_back(
    app, client, auth, project_id
) -> None:
    """A client gone before the first write: the server closes a body it never iterated — a
    generator's `finally` would not run then; the slot and the subscription still go."""
    calls = long_calls_module.long_calls()
    for _ in range(3 * SLOTS):  # more than the slots: each one was given back
        stream = open_stream(client, auth, project_id)
        assert stream.status_code == 200
        assert (calls.in_use, hub_of(app).streams) == (1, 1)
        stream.close()
        assert (calls.in_use, hub_of(app).streams) == (0, 0)


def test_sigterm_ends_open_streams_at_once(database_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ACCESS_LOG": "0", "WEB_CONCURRENCY": "1"}
    env.pop("LLM_BASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve", "flask", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}{API}"
    try:
        with httpx.Client(timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            email, _name, _admin, _role = demo.DEMO_USERS[0]
            token = http.post(
                f"{base}/auth/token",
                data={"grant_type": "password", "username": email, "password": demo.DEMO_PASSWORD},
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            project = http.get(f"{base}/projects", headers=headers).json()["items"][0]["id"]
            ended = threading.Event()
            with http.stream("GET", f"{base}/projects/{project}/events", headers=headers) as s:
                assert s.status_code == 200
                chunks = s.iter_text()
                assert next(chunks) == HEARTBEAT

                def read_to_the_end() -> None:
                    with contextlib.suppress(httpx.HTTPError):  # cut: not an end
                        for _ in chunks:
                            pass
                        ended.set()

                threading.Thread(target=read_to_the_end, daemon=True).start()
                signalled = time.monotonic()
                server.send_signal(signal.SIGTERM)
                # Well short of the 30 s graceful timeout a stream would otherwise hold.
                assert ended.wait(10), "the stream was not ended at SIGTERM"
            assert server.wait(20) == 0
            assert time.monotonic() - signalled < 15
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
