"""/api/v1/projects/{project_id}/labels (listLabels, createLabel, deleteLabel)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.openapi import IDEMPOTENCY_KEY, problems
from impl_drf.serializers import LabelCreateSerializer, LabelListSerializer, LabelSerializer
from impl_drf.services import labels
from impl_drf.views.base import ProjectScopedViewSet
from shared.vocabulary import Role


class LabelViewSet(ProjectScopedViewSet):
    serializer_class = LabelSerializer
    required_roles = {"create": Role.EDITOR, "destroy": Role.EDITOR}
    idempotent_actions = frozenset({"create"})
    body_serializer_classes = {"create": LabelCreateSerializer}
    schema_tags = ["labels"]

    @extend_schema(
        operation_id="listLabels",
        summary="List the labels of a project",
        responses={200: LabelListSerializer, **problems(401, 404, 422)},
    )
    def list(self, request: Request, project_id: uuid.UUID) -> Response:
        items = selectors.labels_of(self.get_project())
        return Response({"items": LabelSerializer(items, many=True).data})

    @extend_schema(
        operation_id="createLabel",
        summary="Create a label (editor+)",
        parameters=[IDEMPOTENCY_KEY],
        request=LabelCreateSerializer,
        responses={201: LabelSerializer, **problems(400, 401, 403, 404, 409, 413, 415, 422)},
    )
    def create(self, request: Request, project_id: uuid.UUID) -> Response:
        project = self.get_project()
        label = labels.create_label(project.id, request.user, **self.validated_body)
        return Response(
            LabelSerializer(label).data,
            status=201,
            headers={"Location": f"/api/v1/projects/{project.id}/labels/{label.id}"},
        )

    @extend_schema(
        operation_id="deleteLabel",
        summary="Delete a label (editor+)",
        responses={204: None, **problems(401, 403, 404, 422)},
    )
    def destroy(self, request: Request, project_id: uuid.UUID, label_id: uuid.UUID) -> Response:
        labels.delete_label(self.get_project().id, label_id, request.user)
        return Response(status=204)
