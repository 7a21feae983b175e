"""Per-project labels (editors and owners manage them)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.idempotency import idempotent_post
from impl_litestar.openapi import BEARER, ContractOperation, problem_responses
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.schemas import Label, LabelCreate, LabelList
from impl_litestar.services import labels
from shared.vocabulary import Role


class LabelController(Controller):
    path = "/projects/{project_id:str}/labels"
    tags = ["labels"]
    security = BEARER

    @get(
        "/",
        operation_id="listLabels",
        summary="List the labels of a project",
        dependencies={"access": project_role()},
        operation_class=ContractOperation,
        responses=problem_responses(401, 404, 422),
    )
    async def list_labels(self, db_session: AsyncSession, access: ProjectAccess) -> LabelList:
        """By name, then id."""
        found = await labels.list_labels(db_session, access.project_id)
        return LabelList([Label.of(label) for label in found])

    @idempotent_post(
        "/",
        operation_id="createLabel",
        summary="Create a label (editor+)",
        dependencies={"access": project_role(Role.EDITOR)},
        operation_class=ContractOperation,
        responses=problem_responses(400, 401, 403, 404, 409, 415, 422),
    )
    async def create_label(
        self, data: LabelCreate, db_session: AsyncSession, access: ProjectAccess
    ) -> Response[Label]:
        """Names are unique per project, case-insensitively (409)."""
        label = await labels.create_label(db_session, access.user, access.project_id, data)
        return Response(
            Label.of(label),
            status_code=201,
            headers={"Location": f"/api/v1/projects/{access.project_id}/labels/{label.id}"},
        )

    @delete(
        "/{label_id:str}",
        operation_id="deleteLabel",
        summary="Delete a label (editor+)",
        dependencies={"access": project_role(Role.EDITOR)},
        operation_class=ContractOperation,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def delete_label(
        self, db_session: AsyncSession, access: ProjectAccess, label_id: UUID
    ) -> None:
        """Takes the label off its tasks."""
        await labels.delete_label(db_session, access.user, access.project_id, label_id)
