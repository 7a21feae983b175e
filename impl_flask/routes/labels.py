"""Per-project labels (listLabels, createLabel, deleteLabel)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import IDEMPOTENT_REPLAYED_HEADER, LOCATION_HEADER, Blueprint
from impl_flask.schemas import LabelCreateSchema, LabelListSchema, LabelSchema
from impl_flask.services import labels
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.orm import Label

blp = Blueprint("labels", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["labels"])


@blp.route("/projects/<uuid:project_id>/labels")
class Labels(TransactionalView):
    @blp.doc(operationId="listLabels")
    @blp.response(200, LabelListSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, project_id: uuid.UUID) -> dict[str, Any]:
        """List the labels of a project

        Ordered by name, then id. Not paginated.
        """
        return {"items": labels.list_labels(project_id)}

    @blp.doc(operationId="createLabel")
    @blp.arguments(LabelCreateSchema)
    @blp.idempotent
    @blp.response(
        201,
        LabelSchema,
        headers={"Idempotent-Replayed": IDEMPOTENT_REPLAYED_HEADER, "Location": LOCATION_HEADER},
    )
    @blp.problems(400, 401, 403, 404, 409, 415, 422, 500)
    def post(self, data: dict[str, Any], project_id: uuid.UUID) -> tuple[Label, dict[str, str]]:
        """Create a label (editor+)

        Names are unique per project, case-insensitively (409).
        """
        label = labels.create_label(project_id, **data)
        return label, {"Location": f"{API_PREFIX}/projects/{project_id}/labels/{label.id}"}


@blp.route("/projects/<uuid:project_id>/labels/<uuid:label_id>")
class LabelById(TransactionalView):
    @blp.doc(operationId="deleteLabel")
    @blp.response(204)
    @blp.problems(401, 403, 404, 422, 500)
    def delete(self, project_id: uuid.UUID, label_id: uuid.UUID) -> None:
        """Delete a label (editor+)

        Takes the label off its tasks.
        """
        labels.delete_label(project_id, label_id)
