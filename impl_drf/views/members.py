"""/api/v1/projects/{project_id}/members (listMembers, putMember, removeMember)."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import selectors
from impl_drf.openapi import problems
from impl_drf.serializers import MemberListSerializer, MemberPutSerializer, MemberSerializer
from impl_drf.services import members
from impl_drf.views.base import ProjectScopedViewSet
from shared.vocabulary import Role


class MemberViewSet(ProjectScopedViewSet):
    serializer_class = MemberSerializer
    required_roles = {"update": Role.OWNER, "destroy": Role.OWNER}
    body_serializer_classes = {"update": MemberPutSerializer}
    schema_tags = ["members"]

    @extend_schema(
        operation_id="listMembers",
        summary="List the members of a project",
        responses={200: MemberListSerializer, **problems(401, 404, 422)},
    )
    def list(self, request: Request, project_id: uuid.UUID) -> Response:
        items = selectors.members_of(self.get_project())
        return Response({"items": MemberSerializer(items, many=True).data})

    @extend_schema(
        operation_id="putMember",
        summary="Add a member or set their role (owner)",
        request=MemberPutSerializer,
        responses={
            200: MemberSerializer,
            201: MemberSerializer,
            **problems(400, 401, 403, 404, 409, 413, 415, 422),
        },
    )
    def update(self, request: Request, project_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        project = self.get_project()
        member, added = members.put_member(
            project.id, user_id, self.validated_body["role"], request.user
        )
        if added:
            return Response(
                MemberSerializer(member).data,
                status=201,
                headers={"Location": f"/api/v1/projects/{project.id}/members/{user_id}"},
            )
        return Response(MemberSerializer(member).data)

    @extend_schema(
        operation_id="removeMember",
        summary="Remove a member (owner)",
        responses={204: None, **problems(401, 403, 404, 409, 422)},
    )
    def destroy(self, request: Request, project_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        members.remove_member(self.get_project().id, user_id, request.user)
        return Response(status=204)
