"""The async engine (one per process, owned by the app's lifespan) and the per-request session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.database import sqlalchemy_connect_args, sqlalchemy_url

# Sized for one uvicorn worker; scale out with workers, not with a bigger pool.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 10
CONNECT_TIMEOUT_SECONDS = 5


def create_engine(database_url: str) -> AsyncEngine:
    """Lazy: no connection is made until the first query, so the app starts without a database."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX_OVERFLOW,
        pool_pre_ping=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            **sqlalchemy_connect_args(database_url, "asyncpg"),
        },
    )


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
