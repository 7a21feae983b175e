"""The application factory: `uvicorn --factory impl_fastapi.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from impl_fastapi.db import create_sessions
from impl_fastapi.errors import UnhandledErrorMiddleware, register_exception_handlers
from impl_fastapi.middleware import (
    BodySizeLimitMiddleware,
    ContractCORSMiddleware,
    StandardHeadersMiddleware,
)
from impl_fastapi.openapi import DESCRIPTION, install_docs, install_openapi
from impl_fastapi.routes import (
    activity,
    assistant,
    auth,
    comments,
    events,
    health,
    labels,
    members,
    notifications,
    projects,
    tasks,
    users,
)
from impl_fastapi.validation import register_validation_handler
from shared.assistant import AsyncAssistant
from shared.async_engines import create_readiness_engine, create_request_engine
from shared.httputil import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_EXPOSE_HEADERS,
    CORS_MAX_AGE,
)
from shared.live.hub_async import AsyncHub
from shared.live.long_calls import on_graceful_stop
from shared.openapi_tags import OPENAPI_TAGS
from shared.settings import Settings, SettingsError, get_settings
from shared.webhooks import AsyncWebhookWorker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.database_url is None:
        raise SettingsError("DATABASE_URL is not set")
    # Creating the engine does not connect: the app starts with the database down, and
    # /readyz reports it until it is back.
    engine = create_request_engine(settings.database_url)
    app.state.sessions = create_sessions(engine)
    app.state.readiness_engine = create_readiness_engine(settings.database_url)
    # The live part, one of each per process: the event streams' hub (its listener reconnects
    # by itself, so the app starts with the database down too), and with a webhook URL the
    # worker delivering the notifications' outbox.
    app.state.live = AsyncHub(settings.database_url)
    app.state.live.start()
    # At SIGTERM, not after uvicorn's graceful timeout (shared.uvicorn_server): open streams end
    # at once (their clients resume elsewhere with Last-Event-ID); the close below comes later.
    on_graceful_stop(app.state.live.end_streams)
    # The assistant's one HTTP client (none without LLM_BASE_URL: askAssistant answers 503).
    app.state.assistant = AsyncAssistant.from_settings(settings)
    webhooks = None
    if settings.notify_webhook_url is not None:
        assert settings.notify_webhook_secret is not None  # Settings requires it with the URL
        webhooks = AsyncWebhookWorker(
            settings.database_url, settings.notify_webhook_url, settings.notify_webhook_secret
        )
        webhooks.start()
    try:
        yield
    finally:
        if webhooks is not None:
            await webhooks.close()
        await app.state.live.close()
        await app.state.assistant.aclose()
        await engine.dispose()
        await app.state.readiness_engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Taskboard",
        version="1.2.0",
        summary="Quartet's Taskboard API, FastAPI implementation.",
        description=DESCRIPTION,
        openapi_tags=[dict(tag) for tag in OPENAPI_TAGS],
        docs_url=None,  # openapi.py: the same page, with its assets served offline
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        redirect_slashes=False,  # `/api/v1/projects/` is an unknown path (404), not a redirect
    )
    app.state.settings = settings

    for module in (
        auth,
        users,
        projects,
        members,
        labels,
        tasks,
        comments,
        activity,
        events,
        notifications,
        assistant,
        health,
    ):
        app.include_router(module.router)

    register_exception_handlers(app)
    register_validation_handler(app)
    install_openapi(app)
    install_docs(app)

    # add_middleware wraps: the last added is outermost. Standard headers outermost so every
    # answer carries them (CORS preflights included); CORS outside the size limit and the
    # catch-all so a browser can read those answers too.
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        ContractCORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=list(CORS_ALLOW_METHODS),
        allow_headers=list(CORS_ALLOW_HEADERS),
        expose_headers=list(CORS_EXPOSE_HEADERS),
        allow_credentials=False,
        max_age=CORS_MAX_AGE,
    )
    app.add_middleware(StandardHeadersMiddleware)
    return app
