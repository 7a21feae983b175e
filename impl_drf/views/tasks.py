"""/api/v1/projects/{project_id}/tasks (listTasks, createTask) and /api/v1/tasks/{task_id}
(getTask, updateTask, deleteTask)."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
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
from impl_drf.models import Task, User
from impl_drf.openapi import IDEMPOTENCY_KEY, problems
from impl_drf.pagination import Keyset
from impl_drf.permissions import ProjectPermission
from impl_drf.selectors import TaskRow
from impl_drf.serializers import (
    TaskCreateSerializer,
    TaskListQuerySerializer,
    TaskSerializer,
    TaskUpdateSerializer,
)
from impl_drf.services import tasks
from impl_drf.views.base import ContractViewSet, KeysetListMixin, ProjectScopedViewSet
from shared.tasklist import TaskFilters
from shared.vocabulary import Role, TaskPriority, TaskSort, TaskStatus


def task_representation(user: User, task_id: uuid.UUID) -> dict[str, Any]:
    """A task as the caller sees it now (`comment_count` included)."""
    return TaskSerializer(selectors.task_for(user, task_id)).data


def task_response(task: TaskRow, *, created: bool = False) -> Response:
    """A task as the caller sees it, as its write's transaction read it, with its ETag."""
    location = f"/api/v1/tasks/{task['id']}" if created else None
    return representation_response(TaskSerializer(task).data, location=location)


def task_if_match(request: Request, task_id: uuid.UUID) -> IfMatch:
    return IfMatch(
        request.headers.get("If-Match"), lambda: task_representation(request.user, task_id)
    )


class ProjectTaskViewSet(KeysetListMixin, ProjectScopedViewSet):
    serializer_class = TaskSerializer
    required_roles = {"create": Role.EDITOR}
    query_serializer_classes = {"list": TaskListQuerySerializer}
    idempotent_actions = frozenset({"create"})
    body_serializer_classes = {"create": TaskCreateSerializer}
    schema_tags = ["tasks"]

    @cached_property
    def filters(self) -> TaskFilters:
        query = self.validated_query
        return TaskFilters(
            status=[TaskStatus(status) for status in query.get("status", ())],
            priority=[TaskPriority(priority) for priority in query.get("priority", ())],
            assignee_id=query.get("assignee_id"),
            label_id=query.get("label_id"),
            due_before=query.get("due_before"),
            q=query.get("q"),
            sort=TaskSort(query["sort"]),
        )

    def get_keyset(self) -> Keyset:
        return selectors.TASK_SORTS[self.filters.sort]

    def cursor_scope(self) -> str:
        return self.filters.cursor_scope(self.kwargs["project_id"])

    @extend_schema(
        operation_id="createTask",
        summary="Create a task (editor+)",
        parameters=[IDEMPOTENCY_KEY],
        request=TaskCreateSerializer,
        responses={201: TaskSerializer, **problems(400, 401, 403, 404, 409, 415, 422)},
    )
    def create(self, request: Request, project_id: uuid.UUID) -> Response:
        task = tasks.create_task(self.get_project().id, request.user, self.validated_body)
        return task_response(task, created=True)

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
                enum=[sort.value for sort in TaskSort],
                default=TaskSort.NEWEST.value,
                description="Sort order.",
            ),
        ],
        responses={200: TaskSerializer(many=True), **problems(401, 404, 422)},
    )
    def list(self, request: Request, project_id: uuid.UUID) -> Response:
        page = self.paginate_queryset(selectors.task_list(self.get_project(), self.filters))
        return self.get_paginated_response(
            TaskSerializer(selectors.with_labels(page), many=True).data
        )


class TaskViewSet(ContractViewSet):
    serializer_class = TaskSerializer
    permission_classes = [IsAuthenticated, ProjectPermission]
    lookup_url_kwarg = "task_id"
    required_roles = {"partial_update": Role.EDITOR, "destroy": Role.EDITOR}
    body_serializer_classes = {"partial_update": TaskUpdateSerializer}
    schema_tags = ["tasks"]

    def get_queryset(self) -> QuerySet[Task] | QuerySet[TaskRow]:
        if self.action == "retrieve":
            return selectors.tasks_for(self.request.user)  # rows, not models
        return selectors.visible_tasks(self.request.user)  # services read the answer

    @extend_schema(
        operation_id="getTask",
        summary="Get a task",
        parameters=[IF_NONE_MATCH],
        responses={200: TaskSerializer, 304: NOT_MODIFIED, **problems(401, 404, 422)},
    )
    def retrieve(self, request: Request, task_id: uuid.UUID) -> Response:
        task = selectors.with_labels([self.get_object()])[0]
        return conditional_response(request, TaskSerializer(task).data)

    @extend_schema(
        operation_id="updateTask",
        summary="Update a task (editor+)",
        parameters=[IF_MATCH],
        request=TaskUpdateSerializer,
        responses={200: TaskSerializer, **problems(400, 401, 403, 404, 412, 413, 415, 422)},
    )
    def partial_update(self, request: Request, task_id: uuid.UUID) -> Response:
        task = self.get_object()
        if_match = task_if_match(request, task.id)
        return task_response(tasks.update_task(task, request.user, self.validated_body, if_match))

    @extend_schema(
        operation_id="deleteTask",
        summary="Delete a task (editor+)",
        parameters=[IF_MATCH],
        responses={204: None, **problems(401, 403, 404, 412, 422)},
    )
    def destroy(self, request: Request, task_id: uuid.UUID) -> Response:
        task = self.get_object()
        tasks.delete_task(task, request.user, task_if_match(request, task.id))
        return Response(status=204)
