"""/api/v1/projects/{project_id}/activity (listActivity)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.openapi import problems
from impl_drf.serializers import ActivitySerializer, PageQuerySerializer
from impl_drf.views.base import KeysetListMixin, ProjectScopedViewSet


class ActivityViewSet(KeysetListMixin, ProjectScopedViewSet):
    serializer_class = ActivitySerializer
    query_serializer_classes = {"list": PageQuerySerializer}
    keyset = selectors.ACTIVITY_NEWEST_FIRST
    cursor_list_name = "activity"
    schema_tags = ["activity"]

    def cursor_params(self) -> dict:
        return {"project_id": self.kwargs["project_id"]}

    @extend_schema(
        operation_id="listActivity",
        summary="List the activity of a project",
        parameters=[PageQuerySerializer],
        responses={200: ActivitySerializer(many=True), **problems(401, 404, 422)},
    )
    def list(self, request: Request, project_id: uuid.UUID) -> Response:
        page = self.paginate_queryset(selectors.activity_of(self.get_project()))
        return self.get_paginated_response(ActivitySerializer(page, many=True).data)
