"""/healthz and /readyz (SPEC §9): no token, outside /api/v1."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import ServiceUnavailable
from impl_drf.openapi import problems
from impl_drf.serializers import HealthSerializer
from impl_drf.views.base import ContractViewSet

logger = logging.getLogger(__name__)


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
        # connect_timeout (settings.CONNECT_TIMEOUT_SECONDS) bounds the wait for a database
        # that does not answer; CONN_HEALTH_CHECKS replaces a connection that died.
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as exc:
            logger.warning("readiness check failed: %s", exc)
            raise ServiceUnavailable() from None
        return Response({"status": "ok"})
