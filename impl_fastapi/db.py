"""The per-request session and its transaction. The engines themselves (one request pool and the
readiness probe's, per process, owned by the app's lifespan) are shared.async_engines, the same
as Litestar's: the project's one database budget (contract/DECISIONS.md, "Database budgets")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


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


async def get_session_for_own_transactions(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose service begins and commits its own short transactions, for work that must
    hold no connection part of the way (sign-in: none while argon2 runs)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


OwnTransactionsSession = Annotated[
    AsyncSession, Depends(get_session_for_own_transactions, scope="function")
]
