"""A project's activity as it happens: Server-Sent Events (SPEC section 11, "Live part details").

The checks are those of every project-scoped GET — 401 (the token may also come as the
`access_token` query parameter: security.py), 422 (`Last-Event-ID` / `last_event_id`:
validation.py), 404 for non-members — and then the request's session is released: the stream
holds no pooled connection. The process's hub (live.py) wakes the subscription on every commit
of the project's activity and reads the new entries on its own connection; it ends the stream
when the token expires (`request.auth`: its claims, security.py) or after the caller's removal.

The body is a `Stream` of the frames shared.live.stream makes, one chunk per wake-up, rather
than `ServerSentEvent`, which encodes a `ServerSentEventMessage` per event per subscriber and
sends each on its own: at 1,000 subscribers it could not keep up with 50 changes/s (README,
"Where each framework had to be bent"). The bytes of each event are the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get
from litestar.di import Provide
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.live import provide_hub
from impl_litestar.openapi import (
    BEARER,
    EVENT_STREAM,
    EventStreamOperation,
    problem_responses,
)
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.security import QUERY_TOKEN_OPT
from impl_litestar.streaming import ReleasedStream
from impl_litestar.validation import RESUMABLE_OPT, last_event_id
from shared.live.hub_async import AsyncHub, AsyncSubscription
from shared.live.stream import HEARTBEAT, MEDIA_TYPE, STREAM_HEADERS
from shared.orm import User
from shared.tokens import AccessToken


def provide_last_event_id(request: Request[Any, Any, Any]) -> int | None:
    return last_event_id(request)  # validated already (validation.py): this does not raise


class EventController(Controller):
    path = "/projects/{project_id:str}/events"
    tags = ["events"]
    security = BEARER

    @get(
        "/",
        operation_id="streamProjectEvents",
        summary="Stream the activity of a project (Server-Sent Events)",
        dependencies={
            "access": project_role(),
            "hub": Provide(provide_hub, sync_to_thread=False),
            "after": Provide(provide_last_event_id, sync_to_thread=False),
        },
        opt={RESUMABLE_OPT: True, QUERY_TOKEN_OPT: True},
        operation_class=EventStreamOperation,
        responses={200: EVENT_STREAM, **problem_responses(401, 404, 422)},
    )
    async def stream_project_events(
        self,
        request: Request[User, AccessToken, Any],
        db_session: AsyncSession,
        access: ProjectAccess,
        hub: AsyncHub,
        after: int | None,
    ) -> Stream:
        """One `activity` event per entry (`id` = its `seq`, `data` = the Activity as the
        activity list has it), after a first `: ping` comment and one every 15 s without an
        event. Resumes after `Last-Event-ID` (or `last_event_id`); without either, starts after
        the project's newest entry. Ends when the token expires or the caller is removed from
        the project."""
        # Back to the pool now, not at provide_db_session's commit after the handler: the
        # subscribe below may wait its turn on the hub's one reader connection.
        await db_session.close()
        subscription = await hub.subscribe(  # 503 past the cap
            access.project_id,
            after,
            viewer=access.user.id,  # ends after their removal ...
            expires_at=request.auth.expires_at,  # ... or when the token expires (security.py)
        )
        return ReleasedStream(
            _frames(subscription),
            release=subscription.close,
            media_type=MEDIA_TYPE,
            headers=STREAM_HEADERS,
        )


async def _frames(subscription: AsyncSubscription) -> AsyncIterator[str]:
    # The first bytes go out as soon as the subscription is registered: every commit after the
    # client has read them reaches it.
    yield HEARTBEAT
    async for chunk in subscription.frames():  # ends when the server stops
        yield chunk
