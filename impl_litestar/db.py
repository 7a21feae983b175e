"""The async engine (owned by the app's lifespan) and the request's one session."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from impl_litestar.settings import app_settings
from shared.database import sqlalchemy_connect_args, sqlalchemy_url
from shared.settings import Settings

# Sized for one uvicorn worker; scale out with workers, not with a bigger pool.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 10
CONNECT_TIMEOUT_SECONDS = 5


def create_engine(settings: Settings) -> AsyncEngine:
    """Lazy: no connection is made before the first query, so the app starts without a database."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")
    return create_async_engine(
        sqlalchemy_url(settings.database_url, "asyncpg"),
        pool_size=POOL_SIZE,
        max_overflow=POOL_MAX_OVERFLOW,
        pool_pre_ping=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            **sqlalchemy_connect_args(settings.database_url, "asyncpg"),
        },
    )


@asynccontextmanager
async def database_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Create the engine and sessionmaker on startup (into app.state), dispose on shutdown."""
    engine = create_engine(app_settings(app.state))
    app.state.engine = engine
    # expire_on_commit=False: response Structs are built from the objects after commit.
    app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield
    finally:
        await engine.dispose()


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
