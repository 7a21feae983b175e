"""Liveness and readiness probes (no token, outside /api/v1)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from impl_fastapi.errors import ServiceUnavailable, problem_responses
from impl_fastapi.schemas import Health, HealthStatus
from impl_fastapi.validation import ContractRoute

READINESS_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["operations"], route_class=ContractRoute)


@router.get(
    "/healthz", operation_id="getHealth", summary="Liveness", responses=problem_responses(500)
)
async def get_health() -> Health:
    return Health(status=HealthStatus.OK)


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    responses=problem_responses(500, 503),
)
async def get_readiness(request: Request) -> Health:
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (TimeoutError, OSError, SQLAlchemyError) as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    return Health(status=HealthStatus.OK)
