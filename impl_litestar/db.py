"""The async engines (owned by the app's lifespan) and the request's one session and transaction.

Pool, timeouts and session settings are the budget every implementation runs with
(shared.database; contract/DECISIONS.md, "Database budgets")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import NullPool, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from impl_litestar.errors import ConflictException, logger
from impl_litestar.settings import app_settings
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
from shared.integrity import conflict_detail

# asyncpg's own limit per statement, a little above the server's statement_timeout, so the
# server's cancellation (a clean error on a usable connection) normally comes first.
COMMAND_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_SECONDS + 1


def _connect_args(database_url: str) -> dict[str, Any]:
    from_url = sqlalchemy_connect_args(database_url, "asyncpg")
    server_settings = {**from_url.pop("server_settings", {}), **session_settings()}
    return {
        "timeout": CONNECT_TIMEOUT_SECONDS,
        **from_url,  # a connect_timeout in the URL wins
        "command_timeout": COMMAND_TIMEOUT_SECONDS,
        "server_settings": server_settings,
    }


def create_engine(database_url: str) -> AsyncEngine:
    """The request pool. Lazy: no connection is made before the first query, so the app starts
    without a database."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        connect_args=_connect_args(database_url),
    )


def create_readiness_engine(database_url: str) -> AsyncEngine:
    """/readyz's connections: one of its own per probe, outside the request pool, so a full
    pool never reads as a database that is down (and a probe never takes a request's place)."""
    return create_async_engine(
        sqlalchemy_url(database_url, "asyncpg"),
        poolclass=NullPool,
        connect_args=_connect_args(database_url),
    )


async def database_answers(engine: AsyncEngine) -> bool:
    """True when the database runs a query within READINESS_TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return False
    return True


@asynccontextmanager
async def database_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Create the engines and the sessionmaker on startup (into app.state), dispose on shutdown."""
    database_url = app_settings(app.state).database_url
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set")
    engine = create_engine(database_url)
    app.state.readiness_engine = create_readiness_engine(database_url)
    # expire_on_commit=False: response Structs are built from the objects after commit.
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield
    finally:
        await engine.dispose()
        await app.state.readiness_engine.dispose()


class RequestSessionMiddleware(ASGIMiddleware):
    """Opens the request's one AsyncSession (outermost under /api/v1), so authentication and
    the handler share a connection and a transaction; closes it when the response is out."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        sessionmaker: async_sessionmaker[AsyncSession] = scope["litestar_app"].state.sessionmaker
        async with sessionmaker() as session:
            scope.setdefault("state", {})[SESSION_KEY] = session
            await next_app(scope, receive, send)


SESSION_KEY = "db_session"


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
