"""The Litestar application factory (`quartet serve litestar` → uvicorn, factory mode)."""

from __future__ import annotations

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide

from impl_litestar import errors, validation
from impl_litestar.db import RequestSessionMiddleware, database_lifespan, provide_db_session
from impl_litestar.live import live_lifespan
from impl_litestar.middleware import (
    BodySizeLimitMiddleware,
    CORSMiddleware,
    TrailingSlashMiddleware,
    add_response_headers,
)
from impl_litestar.openapi import SCHEMA_PLUGINS, docs_asset, openapi_config, openapi_document
from impl_litestar.routes.activity import ActivityController
from impl_litestar.routes.assistant import AssistantController
from impl_litestar.routes.auth import AuthController
from impl_litestar.routes.comments import CommentController
from impl_litestar.routes.events import EventController
from impl_litestar.routes.health import HealthController
from impl_litestar.routes.labels import LabelController
from impl_litestar.routes.members import MemberController
from impl_litestar.routes.notifications import NotificationController
from impl_litestar.routes.projects import ProjectController
from impl_litestar.routes.tasks import TaskController
from impl_litestar.routes.users import UserController
from impl_litestar.security import BearerTokenMiddleware, provide_current_user
from impl_litestar.settings import STATE_KEY, app_settings
from impl_litestar.validation import RequestValidationMiddleware
from shared.problems import MAX_BODY_BYTES
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> Litestar:
    """`settings` default to the environment's (shared.settings), read and checked here once."""
    settings = settings or get_settings()
    api = Router(
        path="/api/v1",
        route_handlers=[
            AuthController,
            UserController,
            ProjectController,
            MemberController,
            LabelController,
            TaskController,
            CommentController,
            ActivityController,
            EventController,
            NotificationController,
            AssistantController,
        ],
        # Outermost first (after the app's: 404, preflight, 413): session → 401 → 415/400/422 →
        # guards → dependencies → handler.
        middleware=[
            RequestSessionMiddleware(),
            BearerTokenMiddleware(),
            RequestValidationMiddleware(),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "current_user": Provide(provide_current_user, sync_to_thread=False),
        },
    )
    return Litestar(
        route_handlers=[api, HealthController, openapi_document, docs_asset],
        state=State({STATE_KEY: settings}),
        dependencies={"settings": Provide(app_settings, sync_to_thread=False)},
        lifespan=[database_lifespan, live_lifespan],
        exception_handlers={**errors.exception_handlers, **validation.exception_handlers},
        middleware=[TrailingSlashMiddleware(), CORSMiddleware(), BodySizeLimitMiddleware()],
        before_send=[add_response_headers],
        openapi_config=openapi_config(),
        plugins=[*SCHEMA_PLUGINS],
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
