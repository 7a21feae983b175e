"""The live part's per-process machinery, started and stopped with the application: the event
hub (shared.live: one LISTEN connection and one reader for every stream of this process), the
assistant's upstream client (shared.assistant: one httpx client per process) and, when
NOTIFY_WEBHOOK_URL is set, the webhook worker (shared.webhooks). Handlers reach the hub and the
assistant through the `hub` and `assistant` dependencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request

from impl_litestar.settings import app_settings
from shared.assistant import AsyncAssistant
from shared.live.hub_async import AsyncHub
from shared.live.long_calls import on_graceful_stop
from shared.webhooks import AsyncWebhookWorker

HUB_KEY = "live_hub"
ASSISTANT_KEY = "assistant"


@asynccontextmanager
async def live_lifespan(app: Litestar) -> AsyncIterator[None]:
    settings = app_settings(app.state)
    database_url = settings.database_url
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set")
    hub = AsyncHub(database_url)
    hub.start()
    # At SIGTERM, not after uvicorn's graceful timeout (shared.uvicorn_server): open streams end
    # at once (their clients resume elsewhere with Last-Event-ID); the close below comes later.
    on_graceful_stop(hub.end_streams)
    app.state[HUB_KEY] = hub
    app.state[ASSISTANT_KEY] = assistant = AsyncAssistant.from_settings(settings)
    worker = None
    if settings.notify_webhook_url is not None:
        # shared.settings refuses a webhook URL without its secret.
        assert settings.notify_webhook_secret is not None
        worker = AsyncWebhookWorker(
            database_url, settings.notify_webhook_url, settings.notify_webhook_secret
        )
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await worker.close()
        await assistant.aclose()
        await hub.close()  # stops listening; ends the streams where no graceful stop did


def provide_hub(request: Request[Any, Any, Any]) -> AsyncHub:
    hub: AsyncHub = request.app.state[HUB_KEY]
    return hub


def provide_assistant(request: Request[Any, Any, Any]) -> AsyncAssistant:
    assistant: AsyncAssistant = request.app.state[ASSISTANT_KEY]
    return assistant
