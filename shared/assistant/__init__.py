"""The project assistant's framework-agnostic part (SPEC section 8, issue 17): the prompt, the
upstream call (async and sync relays over httpx + httpx-sse), the deadlines and their 502/503/504
mapping, and the token/done/error frames. An implementation writes the route only
(notes/assistant-17.md):

    auth, validation, membership (401/415/400/422/404 as every project-scoped POST)
    assistant.ensure_configured()                          -> NotConfigured (503)
    rows = <OPEN_TASKS or OPEN_TASKS_SQL for the project>
    msgs = messages(rows, question)
    stream: relay = [await] assistant.open_stream(msgs)    -> UpstreamError 502, UpstreamTimeout 504
            200 text/event-stream with relay.frames()
    else:   200 application/json [await] assistant.answer(msgs)
"""

from shared.assistant.errors import (
    NOT_CONFIGURED,
    UPSTREAM_FAILED,
    UPSTREAM_TIMEOUT,
    AssistantError,
    NotConfigured,
    UpstreamError,
    UpstreamTimeout,
)
from shared.assistant.frames import CONTENT_TYPE, HEADERS, MEDIA_TYPE, AssistantEvent
from shared.assistant.prompt import (
    DESCRIPTION_CHARS,
    MAX_TASKS,
    OPEN_TASKS,
    OPEN_TASKS_SQL,
    messages,
)
from shared.assistant.relay_async import AsyncAssistant, AsyncRelay
from shared.assistant.relay_sync import SyncAssistant, SyncRelay

__all__ = [
    "CONTENT_TYPE",
    "DESCRIPTION_CHARS",
    "HEADERS",
    "MAX_TASKS",
    "MEDIA_TYPE",
    "NOT_CONFIGURED",
    "OPEN_TASKS",
    "OPEN_TASKS_SQL",
    "UPSTREAM_FAILED",
    "UPSTREAM_TIMEOUT",
    "AssistantError",
    "AssistantEvent",
    "AsyncAssistant",
    "AsyncRelay",
    "NotConfigured",
    "SyncAssistant",
    "SyncRelay",
    "UpstreamError",
    "UpstreamTimeout",
    "messages",
]
