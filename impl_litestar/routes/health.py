"""Liveness and readiness probes (outside /api/v1, no token)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.datastructures import State

from impl_litestar.errors import service_unavailable
from impl_litestar.openapi import ContractOperation, problem_responses
from impl_litestar.schemas import Health, HealthStatus
from shared.readiness import database_answers_async


class HealthController(Controller):
    path = "/"
    tags = ["operations"]

    @get(
        "/healthz",
        operation_id="getHealth",
        summary="Liveness",
        operation_class=ContractOperation,
        responses=problem_responses(database=False),
    )
    async def get_health(self) -> Health:
        """The process is up; the database is not consulted."""
        return Health(HealthStatus.OK)

    @get(
        "/readyz",
        operation_id="getReadiness",
        summary="Readiness",
        operation_class=ContractOperation,
        responses=problem_responses(),
    )
    async def get_readiness(self, state: State) -> Response[Health]:
        """200 when the database answers within 2 seconds, else 503."""
        if not await database_answers_async(state.readiness_engine):
            return service_unavailable()
        return Response(Health(HealthStatus.OK))
