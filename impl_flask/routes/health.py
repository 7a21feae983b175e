"""Liveness and readiness probes (getHealth, getReadiness): outside /api/v1, no token."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from impl_flask import db
from impl_flask.openapi import PUBLIC, Blueprint
from impl_flask.schemas import HealthSchema
from shared.openapi_tags import TAG_DESCRIPTIONS
from shared.problems import DATABASE_UNAVAILABLE

blp = Blueprint("operations", __name__, description=TAG_DESCRIPTIONS["operations"])


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(operationId="getHealth", **PUBLIC)
    @blp.response(200, HealthSchema)
    @blp.problems(500, uses_database=False)
    def get(self) -> dict[str, str]:
        """Liveness

        The process is up. Does not touch the database.
        """
        return {"status": "ok"}


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.doc(operationId="getReadiness", **PUBLIC)
    @blp.response(200, HealthSchema)
    @blp.problems(500)
    def get(self) -> dict[str, str]:
        """Readiness

        200 when the database answers within 2 seconds, else 503.
        """
        if not db.answers():
            abort(503, message=DATABASE_UNAVAILABLE)
        return {"status": "ok"}
