"""Project members (listMembers, putMember, removeMember)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import LOCATION_HEADER, Blueprint
from impl_flask.schemas import MemberListSchema, MemberPutSchema, MemberSchema
from impl_flask.services import members
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import ProjectMember

blp = Blueprint("members", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["members"])


@blp.route("/projects/<uuid:project_id>/members")
class Members(TransactionalView):
    @blp.doc(operationId="listMembers")
    @blp.response(200, MemberListSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, project_id: uuid.UUID) -> dict[str, Any]:
        """List the members of a project

        Ordered by display name, then user id. Not paginated.
        """
        return {"items": members.list_members(project_id)}


@blp.route("/projects/<uuid:project_id>/members/<uuid:user_id>")
class Member(TransactionalView):
    @blp.doc(operationId="putMember")
    @blp.arguments(MemberPutSchema)
    @blp.response(200, MemberSchema, description="The role was changed, or already was that role.")
    @blp.alt_response(
        201,
        schema=MemberSchema,
        success=True,
        description="Added.",
        headers={"Location": LOCATION_HEADER},
    )
    @blp.problems(400, 401, 403, 404, 409, 415, 422, 500)
    def put(
        self, data: dict[str, Any], project_id: uuid.UUID, user_id: uuid.UUID
    ) -> ProjectMember | tuple[ProjectMember, int, dict[str, str]]:
        """Add a member or set their role (owner)

        201 when the user is added, 200 when the role changed or already was that role.
        Demoting the last owner → 409.
        """
        member, added = members.put_member(project_id, user_id, data["role"])
        if added:
            return (
                member,
                201,
                {"Location": f"{API_PREFIX}/projects/{project_id}/members/{user_id}"},
            )
        return member

    @blp.doc(operationId="removeMember")
    @blp.response(204)
    @blp.problems(401, 403, 404, 409, 422, 500)
    def delete(self, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Remove a member (owner)

        The last owner cannot be removed (409). Clears the user's assignments in the project.
        """
        members.remove_member(project_id, user_id)
