"""The async engine (one per process, owned by the app's lifespan), the per-request session, and
the readiness probe's own connection. Pool and timeouts are the project's one database budget
(shared.database; contract/DECISIONS.md, "Database budgets")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import NullPool, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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

# asyncpg's own per-statement timeout, a backstop for a server that stops answering altogether:
# a little above statement_timeout, so the server's cancellation normally comes first.
_COMMAND_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_SECONDS + 1


def _connect_args(database_url: str, timeout: float) -> dict[str, Any]:
    """asyncpg connection arguments: the URL's, the budget's session settings on top."""
    args: dict[str, Any] = {"timeout": timeout, "command_timeout": _COMMAND_TIMEOUT_SECONDS}
    args |= sqlalchemy_connect_args(database_url, "asyncpg")
    args["server_settings"] = {**args.get("server_settings", {}), **session_settings()}
    return args


def create_engine(database_url: str) -> AsyncEngine:
    """Lazy: no connection is made until the first query, so the app starts without a database."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        pool_size=POOL_SIZE,
        max_overflow=0,  # the budget is a ceiling; scale out with workers, not with the pool
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        connect_args=_connect_args(database_url, CONNECT_TIMEOUT_SECONDS),
    )


def create_readiness_engine(database_url: str) -> AsyncEngine:
    """A connection per probe, outside the request pool: /readyz answers within its budget
    even when every pooled connection is busy."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        poolclass=NullPool,
        connect_args=_connect_args(database_url, READINESS_TIMEOUT_SECONDS),
    )


async def database_answers(readiness_engine: AsyncEngine) -> bool:
    """Whether the database runs a query within READINESS_TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with readiness_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (TimeoutError, OSError, SQLAlchemyError):
        return False
    return True


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: response models are built from the objects after the commit.
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    Used with scope="function" so the commit happens before the response is sent; a failed
    commit is then a 500, never a success the client saw for a change that did not happen."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker.begin() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
