"""The live part's per-process resources: the event hub (shared.live.hub_threads), the webhook
worker (shared.webhooks) and the assistant's upstream client (shared.assistant); the slots of
long calls are shared.live.long_calls'.

Django has no application lifespan and no factory run after gunicorn's fork, so each is created
lazily, once per process: `hub()` on the first stream (its listener thread starts with the first
subscription), and `start()` — called by impl_drf.wsgi, which gunicorn imports in each worker
after the fork — starts the webhook worker when NOTIFY_WEBHOOK_URL is set. A process forked
after creating them (gunicorn --preload) makes its own: a thread does not survive a fork.
The hub closes when gunicorn's graceful stop begins (its streams end then); both stop with the
process otherwise (`atexit`; their threads are daemons anyway)."""

from __future__ import annotations

import atexit
import os
import threading

from django.conf import settings as django_settings

from shared.assistant import SyncAssistant
from shared.live.hub_threads import ThreadHub
from shared.live.long_calls import on_graceful_stop
from shared.settings import get_settings, gunicorn_threads, long_calls_per_worker
from shared.webhooks import ThreadWebhookWorker

# At exit, how long a delivery in flight may hold the worker process (an unfinished one is
# retried by any worker once its lease expires: nothing is lost).
STOP_SECONDS = 2.0

_lock = threading.Lock()
_hub: tuple[int, ThreadHub] | None = None
_worker: tuple[int, ThreadWebhookWorker] | None = None
_assistant: SyncAssistant | None = None


def hub() -> ThreadHub:
    """This process's hub. Its cap is the long-call cap: every stream holds a long-call slot
    first (impl_drf.views.events), so the hub's own StreamsFull is only a backstop."""
    global _hub
    with _lock:
        if _hub is None or _hub[0] != os.getpid():
            created = ThreadHub(django_settings.DATABASE_URL, max_streams=long_calls_per_worker())
            _hub = (os.getpid(), created)
            # Streams end when gunicorn's graceful stop begins (shared.gunicorn_worker), not
            # after its graceful timeout; at exit otherwise.
            on_graceful_stop(created.close)
            atexit.register(created.close)
        return _hub[1]


def assistant() -> SyncAssistant:
    """This process's assistant upstream: one httpx client per process, made on first use in
    the process that uses it (SyncAssistant is fork-safe), as many connections as threads."""
    global _assistant
    with _lock:
        if _assistant is None:
            _assistant = SyncAssistant.from_settings(
                get_settings(), max_connections=gunicorn_threads()
            )
            atexit.register(_assistant.close)
        return _assistant


def start() -> None:
    """Start this process's webhook worker, when a webhook URL is configured (idempotent)."""
    global _worker
    settings = get_settings()
    if settings.notify_webhook_url is None or settings.notify_webhook_secret is None:
        return
    with _lock:
        if _worker is None or _worker[0] != os.getpid():
            worker = ThreadWebhookWorker(
                django_settings.DATABASE_URL,
                settings.notify_webhook_url,
                settings.notify_webhook_secret,
            )
            worker.start()
            _worker = (os.getpid(), worker)
            atexit.register(worker.close, STOP_SECONDS)
