"""/healthz (getHealth) and /readyz (getReadiness): no token, outside /api/v1."""

from __future__ import annotations

import logging
import time

import psycopg
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import ServiceUnavailable
from impl_drf.openapi import problems
from impl_drf.serializers import HealthSerializer
from impl_drf.views.base import ContractViewSet
from shared.database import READINESS_TIMEOUT_SECONDS, normalise
from shared.problems import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    """`SELECT 1` on a connection of its own, within READINESS_TIMEOUT_SECONDS all told
    (contract/DECISIONS.md, "Database budgets"): not from the request pool, which may be
    exhausted, or waiting POOL_TIMEOUT_SECONDS, when the question is whether the database
    answers."""
    deadline = time.monotonic() + READINESS_TIMEOUT_SECONDS
    try:
        with psycopg.connect(
            normalise(settings.DATABASE_URL),
            connect_timeout=max(2, int(READINESS_TIMEOUT_SECONDS)),  # libpq's minimum is 2 s
            application_name="quartet-drf-readiness",
            autocommit=True,
        ) as conn:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return False
            conn.execute(f"SET statement_timeout = {remaining_ms}")
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        logger.warning("readiness check failed: %s", exc)
        return False
    return True


class HealthViewSet(ContractViewSet):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema_tags = ["operations"]

    @extend_schema(
        operation_id="getHealth",
        summary="Liveness",
        auth=[],
        responses={200: HealthSerializer, **problems()},
    )
    def liveness(self, request: Request) -> Response:
        return Response({"status": "ok"})

    @extend_schema(
        operation_id="getReadiness",
        summary="Readiness",
        auth=[],
        responses={200: HealthSerializer, **problems(503)},
    )
    def readiness(self, request: Request) -> Response:
        if not database_answers():
            raise ServiceUnavailable(DATABASE_UNAVAILABLE)
        return Response({"status": "ok"})
