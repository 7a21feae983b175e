"""/api/v1/projects/{project_id}/tasks and /api/v1/tasks/{task_id} (SPEC §4)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import queries, repository
from impl_drf.conditional import (
    IF_MATCH,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    not_modified,
    versioned_response,
)
from impl_drf.models import Role, Task
from impl_drf.openapi import problems
from impl_drf.pagination import Key, Keyset
from impl_drf.permissions import HasProjectRole
from impl_drf.serializers import (
    TaskCreateSerializer,
    TaskListQuerySerializer,
    TaskSerializer,
    TaskSort,
    TaskUpdateSerializer,
)
from impl_drf.views.base import ContractViewSet, KeysetListMixin, ProjectScopedViewSet
from shared.cursors import DATE, INT, TIMESTAMP, UUID

_BY_ID = Key("id", UUID)
KEYSETS = {  # DECISIONS.md: ties by id in the direction of the sort; no due date last
    TaskSort.NEWEST: Keyset((Key("created_at", TIMESTAMP), _BY_ID), descending=True),
    TaskSort.OLDEST: Keyset((Key("created_at", TIMESTAMP), _BY_ID)),
    TaskSort.DUE_SOONEST: Keyset((Key("due_date", DATE, nullable=True), _BY_ID)),
    TaskSort.DUE_LATEST: Keyset((Key("due_date", DATE, nullable=True), _BY_ID), descending=True),
    TaskSort.PRIORITY_LOWEST: Keyset((Key("priority_rank", INT), _BY_ID)),
    TaskSort.PRIORITY_HIGHEST: Keyset((Key("priority_rank", INT), _BY_ID), descending=True),
}


def task_response(user, task_id: uuid.UUID, *, created: bool = False) -> Response:
    """A task as the caller sees it, re-read after a write, with its ETag."""
    task = queries.tasks_for(user).get(pk=task_id)
    location = f"/api/v1/tasks/{task.id}" if created else None
    return versioned_response(TaskSerializer(task).data, task.version, location=location)


class ProjectTaskViewSet(KeysetListMixin, ProjectScopedViewSet):
    serializer_class = TaskSerializer
    required_roles = {"create": Role.EDITOR}
    query_serializer_classes = {"list": TaskListQuerySerializer}
    body_serializer_classes = {"create": TaskCreateSerializer}
    cursor_list_name = "tasks"
    schema_tags = ["tasks"]

    def get_keyset(self) -> Keyset:
        return KEYSETS[self.validated_query["sort"]]

    def cursor_params(self) -> dict:
        query = self.validated_query
        return {
            "project_id": self.kwargs["project_id"],
            **{
                name: query.get(name)
                for name in (
                    "status",
                    "priority",
                    "assignee_id",
                    "label_id",
                    "due_before",
                    "q",
                    "sort",
                )
            },
        }

    def filter_tasks(self, tasks: QuerySet[Task]) -> QuerySet[Task]:
        query = self.validated_query
        if query.get("status"):
            tasks = tasks.filter(status__in=query["status"])
        if query.get("priority"):
            tasks = tasks.filter(priority__in=query["priority"])
        if query.get("assignee_id"):
            tasks = tasks.filter(assignee_id=query["assignee_id"])
        if query.get("label_id"):
            tasks = tasks.filter(labels__id=query["label_id"])
        if query.get("due_before"):
            tasks = tasks.filter(due_date__lt=query["due_before"])
        if query.get("q"):
            tasks = tasks.filter(title__icontains=query["q"])  # LIKE wildcards escaped
        return tasks

    @extend_schema(
        operation_id="createTask",
        summary="Create a task (editor+)",
        request=TaskCreateSerializer,
        responses={201: TaskSerializer, **problems(400, 401, 403, 404, 413, 415, 422)},
    )
    def create(self, request: Request, project_id: uuid.UUID) -> Response:
        task = repository.create_task(self.get_project(), request.user, dict(self.validated_body))
        return task_response(request.user, task.id, created=True)

    @extend_schema(
        operation_id="listTasks",
        summary="List and filter the tasks of a project",
        # `sort` spelled out: from the serializer, drf-spectacular would add a
        # `minLength: 1` to the enum
        parameters=[
            TaskListQuerySerializer,
            OpenApiParameter(
                "sort",
                str,
                enum=TaskSort.values,
                default=TaskSort.NEWEST,
                description="Sort order.",
            ),
        ],
        responses={200: TaskSerializer(many=True), **problems(401, 404, 422)},
    )
    def list(self, request: Request, project_id: uuid.UUID) -> Response:
        tasks = self.filter_tasks(queries.tasks_of(self.get_project()))
        page = self.paginate_queryset(tasks)
        return self.get_paginated_response(TaskSerializer(page, many=True).data)


class TaskViewSet(ContractViewSet):
    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, HasProjectRole]
    lookup_url_kwarg = "task_id"
    required_roles = {"partial_update": Role.EDITOR, "destroy": Role.EDITOR}
    body_serializer_classes = {"partial_update": TaskUpdateSerializer}
    schema_tags = ["tasks"]

    def get_queryset(self) -> QuerySet[Task]:
        return queries.tasks_for(self.request.user)

    @extend_schema(
        operation_id="getTask",
        summary="Get a task",
        parameters=[IF_NONE_MATCH],
        responses={200: TaskSerializer, 304: NOT_MODIFIED, **problems(401, 404, 422)},
    )
    def retrieve(self, request: Request, task_id: uuid.UUID) -> Response:
        task = self.get_object()
        return not_modified(request, task.version) or versioned_response(
            TaskSerializer(task).data, task.version
        )

    @extend_schema(
        operation_id="updateTask",
        summary="Update a task (editor+)",
        parameters=[IF_MATCH],
        request=TaskUpdateSerializer,
        responses={200: TaskSerializer, **problems(400, 401, 403, 404, 412, 413, 415, 422)},
    )
    def partial_update(self, request: Request, task_id: uuid.UUID) -> Response:
        task = self.get_object()
        repository.update_task(
            task.id, request.user, dict(self.validated_body), request.headers.get("If-Match")
        )
        return task_response(request.user, task.id)

    @extend_schema(
        operation_id="deleteTask",
        summary="Delete a task (editor+)",
        parameters=[IF_MATCH],
        responses={204: None, **problems(401, 403, 404, 412, 422)},
    )
    def destroy(self, request: Request, task_id: uuid.UUID) -> Response:
        task = self.get_object()
        repository.delete_task(task.id, request.user, request.headers.get("If-Match"))
        return Response(status=204)
