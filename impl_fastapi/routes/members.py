"""Project membership."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from impl_fastapi.db import Session
from impl_fastapi.openapi import problem_responses
from impl_fastapi.schemas import Member, MemberList, MemberPut, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import members
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1/projects/{project_id}/members",
    tags=["members"],
    route_class=ContractRoute,
    dependencies=AUTHENTICATED,
)


@router.get(
    "",
    operation_id="listMembers",
    summary="List the members of a project",
    response_model=MemberList,
    responses=problem_responses(401, 404, 422),
)
async def list_members(project_id: ResourceId, user: CurrentUser, session: Session) -> MemberList:
    items = await members.list_members(session, user, project_id)
    return MemberList.model_validate({"items": items})


@router.put(
    "/{user_id}",
    operation_id="putMember",
    summary="Add a member or set their role (owner)",
    response_model=Member,
    responses={201: {"model": Member, "description": "Added"}}
    | problem_responses(400, 401, 403, 404, 409, 415, 422),
)
async def put_member(
    project_id: ResourceId,
    user_id: ResourceId,
    body: MemberPut,
    user: CurrentUser,
    session: Session,
    response: Response,
) -> orm.ProjectMember:
    member, added = await members.put_member(session, user, project_id, user_id, body.role)
    if added:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/api/v1/projects/{project_id}/members/{user_id}"
    return member


@router.delete(
    "/{user_id}",
    operation_id="removeMember",
    summary="Remove a member (owner)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def remove_member(
    project_id: ResourceId, user_id: ResourceId, user: CurrentUser, session: Session
) -> None:
    await members.remove_member(session, user, project_id, user_id)
