"""Liveness and readiness probes (outside /api/v1, no token)."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from impl_litestar.errors import logger, problem_response
from impl_litestar.openapi import ContractOperation, problem_responses
from impl_litestar.schemas import Health, HealthStatus

READINESS_TIMEOUT_SECONDS = 2.0


class HealthController(Controller):
    path = "/"
    tags = ["operations"]

    @get(
        "/healthz",
        operation_id="getHealth",
        summary="Liveness",
        operation_class=ContractOperation,
        responses=problem_responses(500),
    )
    async def get_health(self) -> Health:
        """The process is up; the database is not consulted."""
        return Health(HealthStatus.OK)

    @get(
        "/readyz",
        operation_id="getReadiness",
        summary="Readiness",
        operation_class=ContractOperation,
        responses=problem_responses(500, 503),
    )
    async def get_readiness(self, state: State) -> Response[Health]:
        """200 when the database answers within 2 seconds, else 503."""
        engine: AsyncEngine = state.engine
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return problem_response(503, "The database did not answer within 2 seconds.")
        return Response(Health(HealthStatus.OK))
