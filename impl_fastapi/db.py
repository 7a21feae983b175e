"""The per-request session and its transaction. The engines themselves (one request pool and the
readiness probe's, per process, owned by the app's lifespan) are shared.async_engines, the same
as Litestar's: the project's one database budget (contract/DECISIONS.md, "Database budgets").

Reads run without a transaction, writes in one (decided here, by the request's method, for
every route): a GET or HEAD gets a session on the same pool in AUTOCOMMIT, so asyncpg sends no
BEGIN and no COMMIT around its statements — two round trips of a read's four. Each statement of
a read is consistent by itself; the few multi-statement reads (authentication → visibility →
page → labels) see what any two requests in a row would, as under Django's default autocommit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.live.orm_lock import ActivityLockingSession

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Sessions:
    """The two session factories over the one request pool."""

    writes: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]


def create_sessions(engine: AsyncEngine) -> Sessions:
    # expire_on_commit=False: response models are built from the objects after the commit.
    return Sessions(
        # ActivityLockingSession: every activity INSERT of a write takes its project's activity
        # lock first (shared.live.orm_lock), so the entries of a project commit in `seq` order.
        writes=async_sessionmaker(
            engine, expire_on_commit=False, sync_session_class=ActivityLockingSession
        ),
        # The same pool: the isolation level is set on checkout and reset on return.
        reads=async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT")),
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read's session in autocommit; a write's in one transaction, committed when the handler
    returns, rolled back if it raises.

    Used with scope="function" so the commit happens before the response is sent; a failed
    commit is then a 500, never a success the client saw for a change that did not happen."""
    sessions: Sessions = request.app.state.sessions
    if request.method in READ_METHODS:
        async with sessions.reads() as session:
            yield session
        return
    async with sessions.writes.begin() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_session_for_own_transactions(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose service begins and commits its own short transactions, for work that must
    hold no connection part of the way (sign-in: none while argon2 runs)."""
    sessions: Sessions = request.app.state.sessions
    async with sessions.writes() as session:
        yield session


OwnTransactionsSession = Annotated[
    AsyncSession, Depends(get_session_for_own_transactions, scope="function")
]
