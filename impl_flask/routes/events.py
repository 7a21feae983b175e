"""A project's activity as it happens (streamProjectEvents): Server-Sent Events."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from impl_flask import db, live, validation
from impl_flask.db import TransactionalView
from impl_flask.openapi import EVENT_STREAM, STREAM_RESPONSE_HEADERS, Blueprint
from impl_flask.permissions import require_role
from impl_flask.schemas import EventsQuerySchema
from impl_flask.security import current_token, current_user, query_token
from impl_flask.settings import API_PREFIX
from shared.live.stream import MEDIA_TYPE
from shared.openapi_tags import TAG_DESCRIPTIONS

blp = Blueprint("events", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["events"])


@blp.route("/projects/<uuid:project_id>/events")
@query_token
class ProjectEvents(TransactionalView):
    @blp.doc(operationId="streamProjectEvents")
    @blp.arguments(EventsQuerySchema, location="query")
    @blp.resumable
    @blp.response(
        200,
        EVENT_STREAM,
        content_type=MEDIA_TYPE,
        headers=STREAM_RESPONSE_HEADERS,
        description="`: ping`, then one `activity` event per entry, until the client leaves, "
        "the token expires or the caller is removed from the project.",
    )
    @blp.problems(401, 404, 422, 500)
    def get(self, query: dict[str, Any], project_id: uuid.UUID) -> Response:
        """Stream the activity of a project (Server-Sent Events)

        `: ping` first, then one `activity` event per entry (`id`: its `seq`), a `: ping`
        after 15 seconds without one. Members of any role, until the token expires or the
        caller is removed from the project. Resume with `Last-Event-ID` (or `last_event_id`);
        the token may also come as `access_token`.
        """
        after = validation.last_event_id(query.get("last_event_id"))
        require_role(project_id)
        db.release_session()  # the stream holds no pool connection: the hub reads for it
        # It ends after the caller's removal from the project, or when their token expires.
        return live.open_stream(
            project_id, after, viewer=current_user().id, expires_at=current_token().expires_at
        )
