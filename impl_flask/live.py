"""The live part's per-process machinery, as a Flask extension: the event hub (one LISTEN
connection and one reader per worker process, shared.live.hub_threads), the assistant's upstream
client (shared.assistant: one httpx client per process) and, with NOTIFY_WEBHOOK_URL set, the
webhook worker (shared.webhooks), all made by the app factory —
which gunicorn runs in each worker after the fork (no preload), so their threads live in the
process that serves — and stopped when the worker's graceful stop begins
(shared.live.long_calls.on_graceful_stop).

The streaming model (notes/live-contract.md, "Sync implementations"): gunicorn's gthread worker,
where a stream holds a thread for as long as it is open. Each worker admits at most
GUNICORN_THREADS − 2 long calls (event streams, assistant calls: shared.live.long_calls) and
answers the next one 503 with `Retry-After: 5` at once (errors.py), so two threads always serve
ordinary requests and no client ever waits for a thread a stream holds."""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator

from flask import Flask, Response, current_app, request
from flask_smorest import abort

from shared.assistant import CONTENT_TYPE, HEADERS, SyncAssistant, SyncRelay
from shared.live.hub_threads import ThreadHub
from shared.live.long_calls import LongCall, client_gone, long_calls, on_graceful_stop
from shared.live.stream import HEARTBEAT, MEDIA_TYPE, STREAM_HEADERS, StreamsFull
from shared.problems import ASSISTANT_BUSY
from shared.settings import Settings, gunicorn_threads, long_calls_per_worker
from shared.webhooks import ThreadWebhookWorker

_HUB = "taskboard.live_hub"
_ASSISTANT = "taskboard.assistant"
_WEBHOOKS = "taskboard.webhook_worker"


def init_app(app: Flask, settings: Settings) -> None:
    assert settings.database_url is not None
    # The hub's own cap is a backstop: the long-call slot, taken first, refuses before it.
    hub = ThreadHub(settings.database_url, max_streams=long_calls_per_worker())
    hub.start()  # the listener thread; it connects (and reconnects) by itself
    app.extensions[_HUB] = hub
    # Its httpx client is made on first use, in this process; a call holds a thread, so the
    # threads bound its connections.
    assistant = app.extensions[_ASSISTANT] = SyncAssistant.from_settings(
        settings, max_connections=gunicorn_threads()
    )
    worker = None
    if settings.notify_webhook_url is not None:
        assert settings.notify_webhook_secret is not None  # Settings.check: no URL without it
        worker = ThreadWebhookWorker(
            settings.database_url, settings.notify_webhook_url, settings.notify_webhook_secret
        )
        worker.start()
        app.extensions[_WEBHOOKS] = worker
    # At SIGTERM, not after the graceful timeout: open streams end at once (their clients
    # resume elsewhere with Last-Event-ID) instead of holding the stop for 30 s.
    on_graceful_stop(lambda: _stop(hub, worker))
    atexit.register(_stop, hub, worker)  # outside gunicorn
    atexit.register(assistant.close)  # after the in-flight calls (they end within the timeout)


def _stop(hub: ThreadHub, worker: ThreadWebhookWorker | None) -> None:
    """Ends every open stream (their `receive` returns None, so the responses finish) and the
    webhook worker; a delivery cut short is due again when its lease expires."""
    hub.close()
    if worker is not None:
        worker.close(timeout=1.0)


def assistant() -> SyncAssistant:
    return current_app.extensions[_ASSISTANT]


def admit_assistant_call() -> LongCall:
    """A long-call slot for an assistant call (streamed or not, it holds a thread for up to
    LLM_TIMEOUT_SECONDS): 503 with `Retry-After: 5` when the worker has none left."""
    try:
        return long_calls().admit()
    except StreamsFull as full:
        abort(503, message=ASSISTANT_BUSY, headers={"Retry-After": str(full.retry_after)})


def relay_response(slot: LongCall, relay: SyncRelay) -> Response:
    """The upstream's stream relayed as it comes (200 already decided: it has started well).
    Closing the body — after the last frame, or when a write to a gone client fails — closes
    the upstream request and frees the slot."""
    return Response(slot.hold(relay.frames(), relay), content_type=CONTENT_TYPE, headers=HEADERS)


def open_stream(
    project_id: uuid.UUID, last_event_id: int | None, *, viewer: uuid.UUID, expires_at: int
) -> Response:
    """The project's event stream, from after `last_event_id` (None: from now), until `viewer`
    is removed from the project or their token expires (`expires_at`). The caller has checked
    who is asking and released the request's session. StreamsFull past this worker's long calls
    (503, errors.py); a database that is away, as every query's error (503)."""
    slot = long_calls().admit()
    try:
        subscription = current_app.extensions[_HUB].subscribe(
            project_id, last_event_id, viewer=viewer, expires_at=expires_at
        )
    except BaseException:
        slot.release()
        raise
    # Not stream_with_context: the generator needs neither `request` nor `g`, and the request's
    # context (its session included) is torn down before the first byte. A quiet stream asks
    # the client's socket whether it has gone, so its thread and slot come back within a second.
    frames = subscription.frames(client_gone=client_gone(request.environ))
    body = slot.hold(_frames(frames), subscription)
    return Response(body, mimetype=MEDIA_TYPE, headers=STREAM_HEADERS)


def _frames(frames: Iterator[str]) -> Iterator[str]:
    """A ping first, as soon as the subscription is registered: the headers leave with it (a
    WSGI server sends them with the first bytes), and every change committed after the client
    has read it will be delivered."""
    yield HEARTBEAT
    yield from frames
