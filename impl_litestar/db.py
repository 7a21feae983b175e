"""The engines' lifespan and the request's one session and transaction.

The engines themselves are shared.async_engines, the same as FastAPI's: pool, timeouts and
session settings are the budget every implementation runs with (contract/DECISIONS.md,
"Database budgets")."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
)

from impl_litestar.errors import ConflictException
from impl_litestar.settings import app_settings
from shared.async_engines import create_readiness_engine, create_request_engine
from shared.integrity import conflict_detail
from shared.live.orm_lock import ActivityLockingSession


@asynccontextmanager
async def database_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Create the engines and the sessionmaker on startup (into app.state), dispose on shutdown."""
    database_url = app_settings(app.state).database_url
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set")
    engine = create_request_engine(database_url)
    app.state.readiness_engine = create_readiness_engine(database_url)
    # expire_on_commit=False: response Structs are built from the objects after commit.
    # ActivityLockingSession takes the project's activity lock right before any activity
    # insert, so entries commit in `seq` order per project (the event stream relies on it).
    app.state.sessionmaker = async_sessionmaker(
        engine, expire_on_commit=False, sync_session_class=ActivityLockingSession
    )
    # Reads run without a transaction (contract/DECISIONS.md, issue 15): the same pool, each
    # connection in autocommit while it serves a read, so asyncpg sends no BEGIN and no COMMIT.
    app.state.read_sessionmaker = async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
    try:
        yield
    finally:
        await engine.dispose()
        await app.state.readiness_engine.dispose()


class RequestSessionMiddleware(ASGIMiddleware):
    """Opens the request's one AsyncSession (outermost under /api/v1), so authentication and
    the handler share a connection; closes it when the response is out.

    The one place that decides transactions: a write (any method but GET and HEAD) runs in one
    transaction, committed or rolled back by `provide_db_session`; a read runs in autocommit,
    each statement self-consistent, with no BEGIN/COMMIT round trips (the only multi-statement
    reads, auth → visibility → page → labels, race a concurrent change as any two requests
    would)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope["litestar_app"].state
        sessionmaker: async_sessionmaker[AsyncSession] = (
            state.read_sessionmaker if scope["method"] in READ_METHODS else state.sessionmaker
        )
        async with sessionmaker() as session:
            scope.setdefault("state", {})[SESSION_KEY] = session
            await next_app(scope, receive, send)


SESSION_KEY = "db_session"
READ_METHODS = frozenset({"GET", "HEAD"})


def request_session(connection: ASGIConnection[Any, Any, Any, Any]) -> AsyncSession:
    return connection.state[SESSION_KEY]


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The request's session, committed when the handler returns and rolled back if it raises.

    Litestar runs a generator dependency's cleanup before the response is sent, so a failed
    commit becomes a 500 and never a success for a change that did not happen."""
    session = request_session(request)
    try:
        yield session
    except Exception:
        await session.rollback()
        raise
    await session.commit()


async def add_unique(session: AsyncSession, row: Any) -> None:
    """Add `row` and write it inside a savepoint: a unique violation the contract calls a
    conflict (shared.integrity, by constraint name) is a 409 and leaves the transaction usable;
    any other integrity error is a defect and propagates (a 500, logged)."""
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        detail = conflict_detail(error)
        if detail is None:
            raise
        raise ConflictException(detail=detail) from None
