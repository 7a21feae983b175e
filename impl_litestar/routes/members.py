"""Project membership and roles (owners manage them)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, put
from litestar.openapi import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.schemas import Member, MemberList, MemberPut
from impl_litestar.services import members
from shared.vocabulary import Role


class MemberController(Controller):
    path = "/projects/{project_id:str}/members"
    tags = ["members"]
    security = BEARER

    @get(
        "/",
        operation_id="listMembers",
        summary="List the members of a project",
        dependencies={"access": project_role()},
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def list_members(self, db_session: AsyncSession, access: ProjectAccess) -> MemberList:
        """By display name, then user id."""
        found = await members.list_members(db_session, access.project_id)
        return MemberList([Member.of(member) for member in found])

    @put(
        "/{user_id:str}",
        operation_id="putMember",
        summary="Add a member or set their role",
        dependencies={"access": project_role(Role.OWNER)},
        operation_class=ContractOperation,
        responses={
            201: ResponseSpec(Member, generate_examples=False, description="Added."),
            **problem_responses(400, 401, 403, 404, 409, 415, 422),
        },
    )
    async def put_member(
        self, data: MemberPut, db_session: AsyncSession, access: ProjectAccess, user_id: UUID
    ) -> Response[Member]:
        """201 when added, 200 when the role changed or already was that role."""
        member, added = await members.put_member(
            db_session, access.user, access.project_id, user_id, data.role
        )
        if added:
            return Response(
                Member.of(member),
                status_code=201,
                headers={"Location": f"/api/v1/projects/{access.project_id}/members/{user_id}"},
            )
        return Response(Member.of(member), status_code=200)

    @delete(
        "/{user_id:str}",
        operation_id="removeMember",
        summary="Remove a member (owner)",
        dependencies={"access": project_role(Role.OWNER)},
        operation_class=ContractOperation,
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def remove_member(
        self, db_session: AsyncSession, access: ProjectAccess, user_id: UUID
    ) -> None:
        """The last owner cannot go (409); their assignments in the project are cleared."""
        await members.remove_member(db_session, access.user, access.project_id, user_id)
