"""What the live tests (events, notifications, webhooks; issue 16) look at besides HTTP: the
activity `seq` of an entry, the server's backends in `pg_stat_activity`, the listener
connection, the state of a server's TCP connections, and which implementations hold a thread
per stream.

Names the contract and contract/DECISIONS.md give (the listener's `application_name`, the
stream cap's `Retry-After`) are spelled out here, not imported from shared/."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from shared.implementations import IMPLEMENTATIONS

# What the hub's dedicated connections call themselves (issue 16: "one listener connection per
# server process", found by an operator — and a test — in pg_stat_activity).
LISTENER_APPLICATION_NAME = "quartet-live-listener"
LIVE_APPLICATION_PREFIX = "quartet-live-"
WEBHOOKS_APPLICATION_NAME = "quartet-webhooks"
# A stream past the cap: 503 with this Retry-After (contract 1.2).
STREAMS_RETRY_AFTER = "5"
# Heartbeat period (SPEC section 7): a WSGI server sees a gone client only when it writes.
HEARTBEAT_SECONDS = 15.0


def threaded(impl: str) -> bool:
    """Whether `impl` serves under gunicorn's threads, where a stream holds a thread (and the
    worker admits GUNICORN_THREADS − 2 streams)."""
    known = IMPLEMENTATIONS.get(impl)
    return known is not None and known.server == "gunicorn"


def seq_of(db: psycopg.Connection, entry_id: str) -> int:
    """The `seq` of an activity entry (the stream's event id)."""
    row = db.execute("SELECT seq FROM activity WHERE id = %s", (entry_id,)).fetchone()
    assert row is not None, f"no activity entry {entry_id}"
    return int(row[0])


def listener_pids(db: psycopg.Connection) -> set[int]:
    return {
        row[0]
        for row in db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = %s",
            (LISTENER_APPLICATION_NAME,),
        )
    }


def terminate_listeners(db: psycopg.Connection) -> set[int]:
    """pg_terminate_backend every listener connection on the database; their pids."""
    pids = listener_pids(db)
    for pid in pids:
        db.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pids


def request_backends(db: psycopg.Connection) -> int:
    """Backends on the database other than this one and the servers' dedicated live and webhook
    connections: the request pools' connections."""
    return db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        " AND application_name NOT LIKE %s AND application_name <> %s",
        (LIVE_APPLICATION_PREFIX + "%", WEBHOOKS_APPLICATION_NAME),
    ).fetchone()[0]


def wait_until(predicate: Callable[[], Any], seconds: float, every: float = 0.05) -> Any:
    """Poll `predicate` until it is truthy or `seconds` have passed; its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


# TCP states in /proc/net/tcp (include/net/tcp_states.h) in which the server still holds its end
# of a connection the client has closed: it has not closed its socket yet.
_HELD_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT"}


def server_holds_connection(server_port: int, client_port: int) -> str | None:
    """The state of the server's end of the connection from `client_port` if the server still
    holds it open (ESTABLISHED or CLOSE_WAIT), else None (closed, or closing on its side)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
                and state in _HELD_STATES
            ):
                return _HELD_STATES[state]
    return None
