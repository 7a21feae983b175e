"""/healthz (getHealth) and /readyz (getReadiness): no token, outside /api/v1."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import ServiceUnavailable
from impl_drf.openapi import problems
from impl_drf.serializers import HealthSerializer
from impl_drf.views.base import ContractViewSet
from shared.problems import DATABASE_UNAVAILABLE
from shared.readiness import database_answers


class HealthViewSet(ContractViewSet):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema_tags = ["operations"]

    @extend_schema(
        operation_id="getHealth",
        summary="Liveness",
        auth=[],
        responses={200: HealthSerializer, **problems(uses_database=False)},
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
        if not database_answers(settings.DATABASE_URL):
            raise ServiceUnavailable(DATABASE_UNAVAILABLE)
        return Response({"status": "ok"})
