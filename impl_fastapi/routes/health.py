"""Liveness and readiness probes (no token, outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from impl_fastapi.errors import ServiceUnavailable
from impl_fastapi.openapi import problem_responses
from impl_fastapi.schemas import Health, HealthStatus
from impl_fastapi.validation import ContractRoute
from shared.readiness import database_answers_async

router = APIRouter(tags=["operations"], route_class=ContractRoute)


@router.get(
    "/healthz",
    operation_id="getHealth",
    summary="Liveness",
    responses=problem_responses(database=False),
)
async def get_health() -> Health:
    return Health(status=HealthStatus.OK)


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    responses=problem_responses(),
)
async def get_readiness(request: Request) -> Health:
    if not await database_answers_async(request.app.state.readiness_engine):
        raise ServiceUnavailable()
    return Health(status=HealthStatus.OK)
