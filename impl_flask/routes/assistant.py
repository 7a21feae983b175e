"""The project assistant (askAssistant)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from impl_flask.db import TransactionalView
from impl_flask.openapi import EVENT_STREAM, STREAM_RESPONSE_HEADERS, Blueprint
from impl_flask.schemas import AssistantAnswerSchema, AssistantQuestionSchema
from impl_flask.services import assistant
from impl_flask.settings import API_PREFIX
from shared.assistant import MEDIA_TYPE
from shared.openapi_tags import TAG_DESCRIPTIONS

# One 200, two media types (the body's `stream` chooses).
ANSWERED = (
    "`stream: false`: the whole answer (`application/json`). `stream: true`: `token` events, "
    "then `done` — or, after a failure mid-stream, `error` (`text/event-stream`)."
)

blp = Blueprint(
    "assistant", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["assistant"]
)


@blp.route("/projects/<uuid:project_id>/assistant")
class ProjectAssistant(TransactionalView):
    @blp.doc(operationId="askAssistant")
    @blp.arguments(AssistantQuestionSchema)
    @blp.response(200, AssistantAnswerSchema, description=ANSWERED)
    @blp.alt_response(
        200,
        schema=EVENT_STREAM,
        content_type=MEDIA_TYPE,
        success=True,
        description=ANSWERED,
        # Sent with the stream only, not with the JSON answer.
        headers={name: {**h, "required": False} for name, h in STREAM_RESPONSE_HEADERS.items()},
    )
    @blp.problems(400, 401, 404, 415, 422, 500, 502, 504)
    def post(self, data: dict[str, Any], project_id: uuid.UUID) -> Response | dict[str, Any]:
        """Ask the project assistant

        Members of any role. `stream: true` (the default): `token` events as the upstream
        streams, then `done`; `stream: false`: one JSON answer. 502/503/504 are decided before
        the first byte; a failure after it ends the stream with an `error` event.
        """
        return assistant.ask(project_id, data["question"], data["stream"])
