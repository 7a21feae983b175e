"""The async SQLAlchemy engines FastAPI and Litestar share: the request pool and the readiness
probe's connection. Both implementations run SQLAlchemy over asyncpg, so the engine is not a
framework difference and is written once (contract/DECISIONS.md, "Database budgets")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import NullPool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.database import (
    CONNECT_TIMEOUT_SECONDS,
    POOL_SIZE,
    POOL_TIMEOUT_SECONDS,
    READINESS_TIMEOUT_SECONDS,
    STATEMENT_TIMEOUT_SECONDS,
    session_settings,
    sqlalchemy_connect_args,
    sqlalchemy_url,
)

# asyncpg's own per-statement limit, a backstop for a server that stops answering altogether:
# a little above statement_timeout, so the server's cancellation (a clean error on a usable
# connection) normally comes first.
COMMAND_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_SECONDS + 1


def _connect_args(database_url: str, timeout: float) -> dict[str, Any]:
    """asyncpg connection arguments: the budget's, then the URL's (a connect_timeout in the URL
    wins), then the budget's session settings on top of the URL's."""
    from_url = sqlalchemy_connect_args(database_url, "asyncpg")
    server_settings = {**from_url.pop("server_settings", {}), **session_settings()}
    return {
        "timeout": timeout,
        **from_url,
        "command_timeout": COMMAND_TIMEOUT_SECONDS,
        "server_settings": server_settings,
    }


def create_request_engine(database_url: str) -> AsyncEngine:
    """The request pool. Lazy: no connection is made before the first query, so the app starts
    without a database."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        pool_size=POOL_SIZE,
        max_overflow=0,  # the budget is a ceiling; scale out with workers, not with the pool
        pool_timeout=POOL_TIMEOUT_SECONDS,
        # No pre-ping: over asyncpg it is three round trips (BEGIN, ping, ROLLBACK) before every
        # checkout, a third of a read's statements. A connection a database restart broke fails
        # its first statement instead: SQLAlchemy sees a disconnect, recycles the whole pool, and
        # that one request gets the 503 + Retry-After: 1 of shared.dberrors.
        connect_args=_connect_args(database_url, CONNECT_TIMEOUT_SECONDS),
    )


def create_readiness_engine(database_url: str) -> AsyncEngine:
    """A connection per probe, outside the request pool: /readyz answers within its budget even
    when every pooled connection is busy, and a probe never takes a request's place."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        poolclass=NullPool,
        connect_args=_connect_args(database_url, READINESS_TIMEOUT_SECONDS),
    )
