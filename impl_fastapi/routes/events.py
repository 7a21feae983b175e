"""A project's activity as it happens: Server-Sent Events, fanned out through PostgreSQL by the
process's hub (shared.live.hub_async; the app's lifespan starts and closes it).

Everything that can fail is decided in dependencies, before the first byte (once the body
runs, the status is sent): the token (header or `access_token`) → `Last-Event-ID` /
`last_event_id` (422) → membership (404) → the request's session closed → the subscription
(503 when the process holds as many streams as it may). The subscription is a request-scoped
`yield` dependency, so it is closed after the response, however it ends (a client that leaves
cancels it at once: Starlette listens for the disconnect; the hub ends it when the token expires
— `authenticate_stream` gives its expiry — or after the caller's removal). The stream itself
holds no pool connection: the hub reads on its own connections.

The body is a plain `StreamingResponse` of the frames shared.live.stream makes, one chunk per
wake-up, not `fastapi.sse.EventSourceResponse`, which builds a pydantic `ServerSentEvent` per
event per subscriber and passes each through two memory streams, two tasks and a timeout scope:
a delivered event cost 13 times the CPU, and 500 subscribers of 50 changes/s were already more
than one worker could serve (README, "Where each framework had to be bent")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from impl_fastapi.db import Session
from impl_fastapi.openapi import event_stream_response, problem_responses
from impl_fastapi.permissions import require_project_role
from impl_fastapi.schemas import ASCII_INT, QueryText, ResourceId
from impl_fastapi.security import STREAM_AUTHENTICATED, Caller, authenticate_stream
from impl_fastapi.validation import ContractRoute
from shared.live.hub_async import AsyncHub, AsyncSubscription
from shared.live.stream import HEARTBEAT, MEDIA_TYPE, SEQ_MAX, STREAM_HEADERS

router = APIRouter(
    prefix="/api/v1", tags=["events"], route_class=ContractRoute, dependencies=STREAM_AUTHENTICATED
)


def _trimmed(value: object) -> object:
    """Spaces and tabs around the header's value do not count (HTTP servers mostly trim them
    already; shared.live.stream.parse_last_event_id's rule, whatever the server)."""
    return value.strip(" \t") if isinstance(value, str) else value


async def resume_after(
    last_event_id: Annotated[
        int | None,
        Header(
            ge=0,
            le=SEQ_MAX,
            description=(
                "The `id` of the last event the client has (what `EventSource` sends when it "
                "reconnects): the stream starts after it. Wins over `last_event_id`."
            ),
        ),
        *ASCII_INT,
        BeforeValidator(_trimmed),  # the last runs first
    ] = None,
    last_event_id_query: Annotated[
        int | None,
        Query(
            alias="last_event_id",
            ge=0,
            le=SEQ_MAX,
            description="As the `Last-Event-ID` header, for clients that cannot send it.",
        ),
        *ASCII_INT,
    ] = None,
) -> int | None:
    """Where the stream starts: after this `seq`, or (None) after the project's newest entry.
    The rule of shared.live.stream.parse_last_event_id as FastAPI parameters, so their 422s are
    listed with every other parameter's (impl_fastapi/tests/test_event_stream.py holds the two
    equal)."""
    return last_event_id if last_event_id is not None else last_event_id_query


@dataclass(frozen=True, slots=True)
class StreamStart:
    project_id: UUID
    after: int | None
    viewer: UUID  # the stream ends after this user's removal from the project ...
    expires_at: int  # ... and when their token expires


async def stream_start(
    project_id: ResourceId,
    after: Annotated[int | None, Depends(resume_after)],
    caller: Annotated[Caller, Depends(authenticate_stream)],
    session: Session,
    access_token: Annotated[  # documented and validated here; authenticate_stream reads it raw
        QueryText | None,
        Query(
            description=(
                "The bearer token, for clients that cannot send `Authorization` (a browser's "
                "`EventSource`). The `Authorization` header wins when both are sent."
            )
        ),
    ] = None,
) -> StreamStart:
    """A member's stream (404 otherwise), its session closed: a stream must not keep a pool
    connection, and its subscription may wait for the hub's reader."""
    await require_project_role(session, project_id, caller.user)
    await session.close()
    return StreamStart(project_id, after, caller.user.id, caller.expires_at)


async def subscription(
    request: Request, start: Annotated[StreamStart, Depends(stream_start)]
) -> AsyncIterator[AsyncSubscription]:
    hub: AsyncHub = request.app.state.live
    subscribed = await hub.subscribe(  # StreamsFull: 503
        start.project_id, start.after, viewer=start.viewer, expires_at=start.expires_at
    )
    try:
        yield subscribed
    finally:
        subscribed.close()


Subscription = Annotated[AsyncSubscription, Depends(subscription, scope="request")]


@router.get(
    "/projects/{project_id}/events",
    operation_id="streamProjectEvents",
    summary="Stream the activity of a project (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        **event_stream_response(
            "The project's activity as Server-Sent Events (`: ping` first, then one `activity` "
            "event per entry, a `: ping` after 15 seconds without one), until the client leaves, "
            "the token expires or the caller is removed from the project.",
            {"activity": "Activity"},
        ),
        **problem_responses(401, 404, 422),
    },
)
async def stream_project_events(events: Subscription) -> StreamingResponse:
    return StreamingResponse(_frames(events), media_type=MEDIA_TYPE, headers=STREAM_HEADERS)


async def _frames(events: AsyncSubscription) -> AsyncIterator[str]:
    yield HEARTBEAT  # registered: every change committed from now on will be sent
    async for chunk in events.frames():  # ends when the server stops
        yield chunk
