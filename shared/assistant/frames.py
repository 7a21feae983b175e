"""The assistant's stream on the wire: `event: token` / `event: done` / `event: error` frames,
made here once so the four implementations send the same bytes (no `id:` lines, no heartbeats:
the sequence of events is a function of the upstream's output alone)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.live.stream import STREAM_HEADERS

MEDIA_TYPE = "text/event-stream"
CONTENT_TYPE = "text/event-stream; charset=utf-8"
# Besides the contract's own headers (X-Request-ID, Cache-Control: no-store, ...).
HEADERS = STREAM_HEADERS

TOKEN = "token"
DONE = "done"
ERROR = "error"


def _json(value: Any) -> str:
    # Compact and UTF-8, as the activity stream: a newline in a token is escaped (`\n`), so the
    # data is always one line.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class AssistantEvent:
    """One event of the stream: its name and its data (one line of JSON). Frameworks with an SSE
    type of their own take the two fields; the others send `frame()`."""

    event: str
    data: str

    def frame(self) -> str:
        return f"event: {self.event}\ndata: {self.data}\n\n"


def token(text: str) -> AssistantEvent:
    return AssistantEvent(TOKEN, _json({"text": text}))


def done(model: str, usage: dict[str, int]) -> AssistantEvent:
    return AssistantEvent(DONE, _json({"model": model, "usage": usage}))


def error(problem: dict[str, Any]) -> AssistantEvent:
    return AssistantEvent(ERROR, _json(problem))
