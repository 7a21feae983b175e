"""The per-project activity trail (listActivity)."""

from __future__ import annotations

import uuid
from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import Blueprint
from impl_flask.schemas import ActivityPageSchema, PageQuerySchema
from impl_flask.services import activity
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS

blp = Blueprint(
    "activity", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["activity"]
)


@blp.route("/projects/<uuid:project_id>/activity")
class ProjectActivity(TransactionalView):
    @blp.doc(operationId="listActivity")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, ActivityPageSchema)
    @blp.problems(401, 404, 422, 500)
    def get(self, query: dict[str, Any], project_id: uuid.UUID) -> dict[str, Any]:
        """List the activity of a project

        Members only. Newest first (the order the entries were recorded in).
        """
        return activity.list_activity(project_id, query["limit"], query.get("cursor"))
