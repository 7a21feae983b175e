"""/readyz's one question, "does the database run a query within READINESS_TIMEOUT_SECONDS?",
asked the same way by all four implementations: on a connection of its own, never the request
pool's (which may be exhausted, or make the probe wait POOL_TIMEOUT_SECONDS), and never taking a
request's place (contract/DECISIONS.md, "Database budgets")."""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.database import READINESS_TIMEOUT_SECONDS, normalise

logger = logging.getLogger(__name__)

_LIBPQ_MINIMUM_CONNECT_TIMEOUT = 2  # libpq rounds anything below up to 2 s


def database_answers(database_url: str) -> bool:
    """The synchronous probe (Flask, DRF): psycopg, with the time left after connecting as the
    statement's limit, so connect plus query stay within the budget."""
    deadline = time.monotonic() + READINESS_TIMEOUT_SECONDS
    try:
        with psycopg.connect(
            normalise(database_url),
            connect_timeout=max(_LIBPQ_MINIMUM_CONNECT_TIMEOUT, int(READINESS_TIMEOUT_SECONDS)),
            application_name="quartet-readiness",
            autocommit=True,
        ) as connection:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return False
            connection.execute(f"SET statement_timeout = {remaining_ms}")
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return False
    return True


async def database_answers_async(readiness_engine: AsyncEngine) -> bool:
    """The asynchronous probe (FastAPI, Litestar), on shared.async_engines' readiness engine."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with readiness_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (TimeoutError, OSError, SQLAlchemyError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return False
    return True
