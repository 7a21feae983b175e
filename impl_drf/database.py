"""A database that stops answering without closing anything (a paused host, a stalled proxy)
must still be a 503 within the contract's bounds (contract/DECISIONS.md, "Unavailable").

statement_timeout cannot help there: the server never sees the statement. psycopg's sync
connections wait for an answer without a client-side limit, both in a request's queries and in
the check the pool runs before lending a connection, when it pings. So every
query and every check is watched: past its deadline the connection's socket is shut down, the
wait ends with an OperationalError (connection lost), which impl_drf.errors answers as a 503,
and the pool drops the connection. A statement that merely runs long is cancelled by the
server's statement_timeout first (5 s, its own 503); the watchdog allows a little more."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from psycopg import Connection, OperationalError
from psycopg.pq import ConnStatus
from psycopg_pool import ConnectionPool

from shared.database import STATEMENT_TIMEOUT_SECONDS

QUERY_DEADLINE_SECONDS = STATEMENT_TIMEOUT_SECONDS + 2.0
CHECK_DEADLINE_SECONDS = 2.0
_TICK_SECONDS = 0.25


class _Watchdog:
    """One daemon thread: shuts down the sockets whose deadline passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[int, float]] = {}  # token → (fd, deadline)
        self._next_token = 0
        self._thread: threading.Thread | None = None

    def arm(self, fd: int, seconds: float) -> int:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # started per process
                self._thread = threading.Thread(target=self._run, daemon=True, name="db-watchdog")
                self._thread.start()
            self._next_token += 1
            self._armed[self._next_token] = (fd, time.monotonic() + seconds)
            return self._next_token

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK_SECONDS)
            now = time.monotonic()
            with self._lock:  # the fd stays its connection's while armed (disarm takes the lock)
                for token, (fd, deadline) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        _shut_down(fd)


def _shut_down(fd: int) -> None:
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the socket itself, whatever descriptor names it
        finally:
            sock.close()


_watchdog = _Watchdog()


@contextlib.contextmanager
def deadline(connection: Connection[Any] | None, seconds: float) -> Iterator[None]:
    fd = connection.pgconn.socket if connection is not None and not connection.closed else -1
    if fd < 0:
        yield
        return
    token = _watchdog.arm(fd, seconds)
    try:
        yield
    finally:
        _watchdog.disarm(token)


def check_connection(connection: Connection[Any]) -> None:
    """The pool's check before lending a connection (`OPTIONS["pool"]["check"]`), without a
    round trip in the usual case.

    An idle pooled connection has nothing to read: the server answered its last statement in
    full. When the server goes away (a restart, a proxy or firewall cutting the connection) it
    sends its FATAL message and closes the socket, which makes the socket readable; only then
    is the connection looked at (libpq reads what is there, without blocking, and reports the
    end of the stream) and, when that did not settle it, pinged under the check's deadline.
    A connection that went silent without closing (a paused host) passes, and its first
    statement meets the query deadline below: a 503 within the contract's bounds. The ping on
    every checkout (psycopg_pool's ConnectionPool.check_connection) was one round trip per
    request: 5 statements for a task-list page, where the contract allows 4 for any read."""
    if connection.closed:
        raise OperationalError("the connection is closed")
    pgconn = connection.pgconn
    waiting = select.poll()
    waiting.register(pgconn.socket, select.POLLIN)
    if not waiting.poll(0):
        return
    pgconn.consume_input()  # OperationalError at the end of the stream
    if pgconn.status != ConnStatus.OK:
        raise OperationalError("the connection is broken")
    with deadline(connection, CHECK_DEADLINE_SECONDS):  # something else arrived: ask
        ConnectionPool.check_connection(connection)


def watched_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """A Django execute wrapper (installed by impl_drf.middleware for every request)."""
    with deadline(context["connection"].connection, QUERY_DEADLINE_SECONDS):
        return execute(sql, params, many, context)
