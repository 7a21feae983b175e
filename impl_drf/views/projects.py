"""/api/v1/projects (listProjects, createProject) and /api/v1/projects/{project_id}
(getProject, updateProject, deleteProject)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.conditional import (
    IF_MATCH,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    IfMatch,
    conditional_response,
    representation_response,
)
from impl_drf.models import Project, User
from impl_drf.openapi import IDEMPOTENCY_KEY, problems
from impl_drf.permissions import ProjectPermission
from impl_drf.serializers import (
    PageQuerySerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from impl_drf.services import projects
from impl_drf.views.base import ContractViewSet, KeysetListMixin
from shared.vocabulary import Role


def project_representation(user: User, project_id: uuid.UUID) -> dict[str, Any]:
    """A project as the caller sees it now (`my_role`, `task_counts`)."""
    return ProjectSerializer(selectors.projects_for(user).get(pk=project_id)).data


def project_response(project: Project, *, created: bool = False) -> Response:
    """A project as the caller sees it, as its write's transaction read it, with its ETag."""
    location = f"/api/v1/projects/{project.pk}" if created else None
    return representation_response(ProjectSerializer(project).data, location=location)


class ProjectViewSet(KeysetListMixin, ContractViewSet):
    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated, ProjectPermission]
    lookup_url_kwarg = "project_id"
    required_roles = {"partial_update": Role.OWNER, "destroy": Role.OWNER}
    query_serializer_classes = {"list": PageQuerySerializer}
    idempotent_actions = frozenset({"create"})
    body_serializer_classes = {
        "create": ProjectCreateSerializer,
        "partial_update": ProjectUpdateSerializer,
    }
    keyset = selectors.PROJECTS_NEWEST_FIRST
    cursor_list_name = "projects"
    schema_tags = ["projects"]

    def get_queryset(self) -> QuerySet[Project]:
        if self.action in ("list", "retrieve"):
            return selectors.projects_for(self.request.user)
        return selectors.visible_projects(self.request.user)  # services read the answer

    def cursor_params(self) -> dict:
        return {"user_id": self.request.user.id}

    @extend_schema(
        operation_id="createProject",
        summary="Create a project",
        parameters=[IDEMPOTENCY_KEY],
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer, **problems(400, 401, 409, 415, 422)},
    )
    def create(self, request: Request) -> Response:
        project = projects.create_project(request.user, **self.validated_body)
        return project_response(project, created=True)

    @extend_schema(
        operation_id="listProjects",
        summary="List the caller's projects",
        parameters=[PageQuerySerializer],
        responses={200: ProjectSerializer(many=True), **problems(401, 422)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProjectSerializer(page, many=True).data)

    @extend_schema(
        operation_id="getProject",
        summary="Get a project",
        parameters=[IF_NONE_MATCH],
        responses={200: ProjectSerializer, 304: NOT_MODIFIED, **problems(401, 404, 422)},
    )
    def retrieve(self, request: Request, project_id: uuid.UUID) -> Response:
        return conditional_response(request, ProjectSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="updateProject",
        summary="Update a project (owner)",
        parameters=[IF_MATCH],
        request=ProjectUpdateSerializer,
        responses={200: ProjectSerializer, **problems(400, 401, 403, 404, 412, 413, 415, 422)},
    )
    def partial_update(self, request: Request, project_id: uuid.UUID) -> Response:
        project = self.get_object()
        if_match = IfMatch(
            request.headers.get("If-Match"),
            lambda: project_representation(request.user, project.id),
        )
        return project_response(
            projects.update_project(project.id, request.user, self.validated_body, if_match)
        )

    @extend_schema(
        operation_id="deleteProject",
        summary="Delete a project (owner)",
        responses={204: None, **problems(401, 403, 404, 422)},
    )
    def destroy(self, request: Request, project_id: uuid.UUID) -> Response:
        projects.delete_project(self.get_object().id)
        return Response(status=204)
