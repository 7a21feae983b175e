"""The project assistant (askAssistant) over shared.assistant: the prompt from the project's
open tasks, the upstream call, its 502/503/504 (errors.py) decided before the first byte."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from impl_flask import db, live
from impl_flask.permissions import require_role
from shared.assistant import OPEN_TASKS, messages


def ask(project_id: uuid.UUID, question: str, stream: bool) -> Response | dict[str, Any]:
    """The whole answer (`stream` false: an AssistantAnswer), or the relayed stream."""
    require_role(project_id)  # any member; 404 otherwise
    assistant = live.assistant()
    assistant.ensure_configured()  # 503 without LLM_BASE_URL, before any work
    slot = live.admit_assistant_call()
    try:
        rows = db.session().execute(OPEN_TASKS, {"project_id": project_id}).all()
        prompt = messages(rows, question)
        db.release_session()  # the upstream may take LLM_TIMEOUT_SECONDS: hold no connection
        if not stream:
            with slot:
                return assistant.answer(prompt)
        relay = assistant.open_stream(prompt)  # 502/504 raised here, nothing sent yet
    except BaseException:
        slot.release()
        raise
    return live.relay_response(slot, relay)
