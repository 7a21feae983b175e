"""/api/v1/me (getMe) and /api/v1/users (createUser, listUsers, getUser)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.models import User
from impl_drf.openapi import IDEMPOTENCY_KEY, problems
from impl_drf.permissions import IsAdmin
from impl_drf.serializers import (
    UserCreateSerializer,
    UserListQuerySerializer,
    UserSerializer,
)
from impl_drf.services import users
from impl_drf.views.base import ContractViewSet, KeysetListMixin


class MeViewSet(ContractViewSet):
    serializer_class = UserSerializer
    schema_tags = ["users"]

    @extend_schema(
        operation_id="getMe", summary="The caller", responses={200: UserSerializer, **problems(401)}
    )
    def retrieve(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class UserViewSet(KeysetListMixin, ContractViewSet):
    queryset = User.objects.all()
    serializer_class = UserSerializer
    lookup_url_kwarg = "user_id"
    query_serializer_classes = {"list": UserListQuerySerializer}
    idempotent_actions = frozenset({"create"})
    body_serializer_classes = {"create": UserCreateSerializer}
    keyset = selectors.USERS_BY_NAME
    cursor_list_name = "users"
    schema_tags = ["users"]

    def get_permissions(self) -> list:
        if self.action == "create":
            return [IsAuthenticated(), IsAdmin()]
        return super().get_permissions()

    def cursor_params(self) -> dict:
        return {"q": self.validated_query.get("q")}

    @extend_schema(
        operation_id="createUser",
        summary="Create a user (admins only)",
        parameters=[IDEMPOTENCY_KEY],
        request=UserCreateSerializer,
        responses={201: UserSerializer, **problems(400, 401, 403, 409, 413, 415, 422)},
    )
    def create(self, request: Request) -> Response:
        user = users.create_user(**self.validated_body)
        return Response(
            UserSerializer(user).data, status=201, headers={"Location": f"/api/v1/users/{user.id}"}
        )

    @extend_schema(
        operation_id="listUsers",
        summary="List users",
        parameters=[UserListQuerySerializer],
        responses={200: UserSerializer(many=True), **problems(401, 422)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.users_matching(self.validated_query.get("q")))
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        operation_id="getUser",
        summary="Get a user",
        responses={200: UserSerializer, **problems(401, 404, 422)},
    )
    def retrieve(self, request: Request, user_id: uuid.UUID) -> Response:
        return Response(UserSerializer(self.get_object()).data)
