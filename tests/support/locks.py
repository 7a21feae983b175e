"""Holding a row lock from the test's side, to make a race deterministic (contract/DECISIONS.md
"How every implementation does the same work", "Locks").

A test locks the row a write will lock, sends its requests, waits until the database shows them
waiting for that lock, then releases it: the requests then run one after the other, in the
order the database grants the lock, and each must decide on what it reads under the lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

LOCK_WAIT_TIMEOUT_SECONDS = 15.0


@contextmanager
def row_locked(database_url: str, table: str, row_id: str) -> Iterator[psycopg.Connection]:
    """A connection whose open transaction holds `table`'s row `row_id` FOR UPDATE; rolled back
    (the lock released) at the end unless the caller committed."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(sql.Identifier(table)),
            (row_id,),
        ).fetchone()
        assert found, f"no {table} row {row_id}"
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.rollback()


@contextmanager
def table_locked(database_url: str, table: str, mode: str) -> Iterator[psycopg.Connection]:
    """A connection whose open transaction holds `LOCK TABLE table IN mode MODE`."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            sql.SQL("LOCK TABLE {} IN {} MODE").format(sql.Identifier(table), sql.SQL(mode))
        )
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.rollback()


def lock_waiters(db: psycopg.Connection) -> int:
    """How many other sessions of this database are waiting for a lock now."""
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()
    return int(row[0]) if row else 0


def wait_for_lock_waiters(
    db: psycopg.Connection, count: int = 1, timeout: float = LOCK_WAIT_TIMEOUT_SECONDS
) -> None:
    """Until at least `count` sessions wait for a lock (`db`: an autocommit connection)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock_waiters(db) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(
        f"expected {count} request(s) waiting for the database lock, saw {lock_waiters(db)}"
    )


def send_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, each on its own thread; their results in order. (A race
    without a lock held by the test: it can show a bug, not prove its absence.)"""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [future.result() for future in [pool.submit(run, call) for call in calls]]
