"""Dedicated connections for a server process's background work — the live listener and reader
(shared.live), the webhook worker (shared.webhooks) — outside the request pool, so background
work never takes a request's connection and a request never waits for it. Autocommit, with the
session settings of every connection (shared.database), named in pg_stat_activity."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from shared.database import (
    CONNECT_TIMEOUT_SECONDS,
    libpq_options,
    normalise,
    session_settings,
    sqlalchemy_connect_args,
    sqlalchemy_url,
)

if TYPE_CHECKING:
    import asyncpg
    import psycopg

# Reconnecting after a lost connection: quickly at first (a restart or a terminated backend is
# back within a second), then no more often than every few seconds while the server is down.
RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0
# How often an idle listening connection proves it is alive (a connection silently cut by the
# network would otherwise wait for notifications forever).
LIVENESS_SECONDS = 10.0


class Backoff:
    """Exponential delays with jitter, back to the first after `reset()`."""

    def __init__(
        self, first: float = RECONNECT_FIRST_SECONDS, ceiling: float = RECONNECT_MAX_SECONDS
    ) -> None:
        self.first, self.ceiling = first, ceiling
        self._next = first

    def reset(self) -> None:
        self._next = self.first

    def next(self) -> float:
        delay = self._next * random.uniform(0.5, 1.0)  # jitter: processes reconnect apart
        self._next = min(self._next * 2, self.ceiling)
        return delay


async def asyncpg_connection(database_url: str, application_name: str) -> asyncpg.Connection:
    """A non-pooled asyncpg connection (a pooled one runs `UNLISTEN *` when released)."""
    import asyncpg

    args = sqlalchemy_connect_args(database_url, "asyncpg")
    server_settings = {
        **args.pop("server_settings", {}),  # type: ignore[dict-item]
        **session_settings(),
        "application_name": application_name,
    }
    dsn = sqlalchemy_url(database_url, "asyncpg").replace("postgresql+asyncpg://", "postgresql://")
    return await asyncpg.connect(
        dsn,
        timeout=args.pop("timeout", CONNECT_TIMEOUT_SECONDS),  # type: ignore[arg-type]
        server_settings=server_settings,
        statement_cache_size=0,  # a handful of statements; nothing to gain from preparing
        **args,  # type: ignore[arg-type]
    )


def psycopg_connection(database_url: str, application_name: str) -> psycopg.Connection:
    import psycopg

    return psycopg.connect(
        normalise(database_url),
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name=application_name,
        options=libpq_options(),
    )
