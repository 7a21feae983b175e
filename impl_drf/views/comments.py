"""/api/v1/tasks/{task_id}/comments (listComments, createComment) and
/api/v1/comments/{comment_id} (updateComment, deleteComment)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.models import Comment, Task
from impl_drf.openapi import IDEMPOTENCY_KEY, problems
from impl_drf.permissions import IsCommentAuthorOrOwner, ProjectPermission
from impl_drf.serializers import CommentSerializer, CommentWriteSerializer, PageQuerySerializer
from impl_drf.services import comments
from impl_drf.views.base import ContractViewSet, KeysetListMixin


class TaskCommentViewSet(KeysetListMixin, ContractViewSet):
    """Comments of a task: any member of its project reads and comments."""

    serializer_class = CommentSerializer
    permission_classes = [IsAuthenticated, ProjectPermission]
    query_serializer_classes = {"list": PageQuerySerializer}
    idempotent_actions = frozenset({"create"})
    body_serializer_classes = {"create": CommentWriteSerializer}
    keyset = selectors.COMMENTS_OLDEST_FIRST
    cursor_list_name = "comments"
    schema_tags = ["comments"]

    def get_task(self) -> Task:
        task = get_object_or_404(
            selectors.visible_tasks(self.request.user), pk=self.kwargs["task_id"]
        )
        self.check_object_permissions(self.request, task)
        return task

    def cursor_params(self) -> dict:
        return {"task_id": self.kwargs["task_id"]}

    @extend_schema(
        operation_id="listComments",
        summary="List the comments of a task",
        parameters=[PageQuerySerializer],
        responses={200: CommentSerializer(many=True), **problems(401, 404, 422)},
    )
    def list(self, request: Request, task_id: uuid.UUID) -> Response:
        page = self.paginate_queryset(selectors.comments_of(self.get_task()))
        return self.get_paginated_response(CommentSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createComment",
        summary="Comment on a task (any member)",
        parameters=[IDEMPOTENCY_KEY],
        request=CommentWriteSerializer,
        responses={201: CommentSerializer, **problems(400, 401, 404, 409, 415, 422)},
    )
    def create(self, request: Request, task_id: uuid.UUID) -> Response:
        comment = comments.create_comment(
            self.get_task(), request.user, self.validated_body["body"]
        )
        return Response(
            CommentSerializer(comment).data,
            status=201,
            headers={"Location": f"/api/v1/comments/{comment.id}"},
        )


class CommentViewSet(ContractViewSet):
    serializer_class = CommentSerializer
    permission_classes = [IsAuthenticated, IsCommentAuthorOrOwner]
    lookup_url_kwarg = "comment_id"
    body_serializer_classes = {"partial_update": CommentWriteSerializer}
    schema_tags = ["comments"]

    def get_queryset(self) -> QuerySet[Comment]:
        return selectors.comments_for(self.request.user)

    @extend_schema(
        operation_id="updateComment",
        summary="Edit a comment (author only)",
        request=CommentWriteSerializer,
        responses={200: CommentSerializer, **problems(400, 401, 403, 404, 413, 415, 422)},
    )
    def partial_update(self, request: Request, comment_id: uuid.UUID) -> Response:
        comment = self.get_object()
        comment = comments.update_comment(comment, request.user, self.validated_body["body"])
        return Response(CommentSerializer(comment).data)

    @extend_schema(
        operation_id="deleteComment",
        summary="Delete a comment (author or project owner)",
        responses={204: None, **problems(401, 403, 404, 422)},
    )
    def destroy(self, request: Request, comment_id: uuid.UUID) -> Response:
        comments.delete_comment(self.get_object(), request.user)
        return Response(status=204)
