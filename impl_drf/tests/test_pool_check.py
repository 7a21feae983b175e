"""The pool's check before lending a connection (impl_drf.database.check_connection): no round
trip for a healthy idle connection, a connection the server closed refused, and anything else
that arrived on an idle connection settled by a ping.

Uses QUARTET_TEST_DATABASE_URL's server when set, else a throwaway embedded PostgreSQL.

    .venv/bin/pytest impl_drf/tests/test_pool_check.py
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from impl_drf.database import check_connection


@pytest.fixture(scope="module")
def server_url() -> str:
    from shared import embedded_pg

    url = os.environ.get("QUARTET_TEST_DATABASE_URL")
    if url:
        return url
    # Not pytest's tmp_path: under root, pgserver runs PostgreSQL as another user.
    return embedded_pg.start(Path(tempfile.mkdtemp(prefix="quartet-drf-pool-")), cleanup="delete")


@pytest.fixture
def idle(server_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        yield conn


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[psycopg.Connection]:
    sent: list[psycopg.Connection] = []
    ping = ConnectionPool.check_connection

    def counting(conn: psycopg.Connection) -> None:
        sent.append(conn)
        ping(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counting))
    return sent


def test_a_healthy_idle_connection_passes_without_a_round_trip(idle, pings) -> None:
    check_connection(idle)
    assert pings == []
    assert idle.execute("SELECT 2").fetchone() == (2,)


def test_a_connection_the_server_closed_is_refused(idle, server_url) -> None:
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (idle.info.backend_pid,))
    deadline = time.monotonic() + 5
    # The server's FATAL and the end of the stream arrive (when the FATAL comes alone, the
    # ping fails on the closed socket at once).
    with pytest.raises(psycopg.OperationalError):
        while time.monotonic() < deadline:
            check_connection(idle)
            time.sleep(0.05)


def test_a_closed_connection_is_refused(idle) -> None:
    idle.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection(idle)


def test_something_else_on_an_idle_connection_is_settled_by_a_ping(idle, server_url, pings) -> None:
    idle.execute("LISTEN quartet_pool_check")
    with psycopg.connect(server_url, autocommit=True) as other:
        other.execute("NOTIFY quartet_pool_check")
    time.sleep(0.2)  # the notification is on the idle connection's socket
    check_connection(idle)
    assert pings == [idle]
    assert idle.execute("SELECT 3").fetchone() == (3,)
