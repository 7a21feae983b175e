"""Per-project labels."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from impl_fastapi.db import Session
from impl_fastapi.idempotency import idempotent
from impl_fastapi.openapi import problem_responses
from impl_fastapi.schemas import Label, LabelCreate, LabelList, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import labels
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1/projects/{project_id}/labels",
    tags=["labels"],
    route_class=ContractRoute,
    dependencies=AUTHENTICATED,
)


@router.get(
    "",
    operation_id="listLabels",
    summary="List the labels of a project",
    response_model=LabelList,
    responses=problem_responses(401, 404, 422),
)
async def list_labels(project_id: ResourceId, user: CurrentUser, session: Session) -> LabelList:
    items = await labels.list_labels(session, user, project_id)
    return LabelList.model_validate({"items": items})


@router.post(
    "",
    operation_id="createLabel",
    summary="Create a label (editor+)",
    status_code=status.HTTP_201_CREATED,
    response_model=Label,
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422),
)
@idempotent
async def create_label(
    project_id: ResourceId,
    body: LabelCreate,
    user: CurrentUser,
    session: Session,
    response: Response,
) -> orm.Label:
    label = await labels.create_label(session, user, project_id, body)
    response.headers["Location"] = f"/api/v1/projects/{project_id}/labels/{label.id}"
    return label


@router.delete(
    "/{label_id}",
    operation_id="deleteLabel",
    summary="Delete a label (editor+)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_label(
    project_id: ResourceId, label_id: ResourceId, user: CurrentUser, session: Session
) -> None:
    await labels.delete_label(session, user, project_id, label_id)
