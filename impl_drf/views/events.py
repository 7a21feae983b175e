"""/api/v1/projects/{project_id}/events (streamProjectEvents): the project's activity as
Server-Sent Events, from this process's hub (impl_drf.live, shared.live.hub_threads).

The streaming model (gunicorn gthread, sync): a stream holds one of the worker's threads for as
long as the client stays, so it first takes one of the worker's long-call slots
(shared.live.long_calls: GUNICORN_THREADS − 2 per worker) — past them, 503 with
`Retry-After: 5`, and the two threads left always serve ordinary requests. The request's
database connection goes back to the pool before the stream starts: the hub's own listener and
reader connections do the stream's work, and Django would otherwise keep the request's
connection until the response is closed, i.e. for the whole stream. The hub ends the stream
when the token expires (`request.auth`: its claims, security.py) or after the caller's removal.

The body is a StreamingHttpResponse over a sync generator (WSGI), not a DRF Response: DRF
renders a whole body at once. gunicorn sends each chunk as it comes; while the stream is quiet it
asks the client's socket (`gunicorn.socket` in the WSGI environ) whether the client has gone
(shared.live.long_calls.client_gone), so the stream ends within a second of the client leaving
instead of at a failed write (up to two heartbeats); the server then closes the body, which ends
the subscription and frees the slot (shared.live.long_calls.HeldBody)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from impl_drf import live
from impl_drf.errors import last_event_id_violations
from impl_drf.openapi import problems
from impl_drf.security import ACCESS_TOKEN_PARAMETER, StreamTokenAuthentication
from impl_drf.validation import RequestValidationError, field_error
from impl_drf.views.base import ProjectScopedViewSet
from shared.inputs import query_nul_locations
from shared.live.hub_threads import ThreadSubscription
from shared.live.long_calls import client_gone, long_calls
from shared.live.stream import (
    HEARTBEAT,
    MEDIA_TYPE,
    SEQ_MAX,
    STREAM_HEADERS,
    InvalidLastEventId,
    parse_last_event_id,
)

LAST_EVENT_ID_HEADER = "Last-Event-ID"
LAST_EVENT_ID_PARAMETER = "last_event_id"
STREAM_CONTENT_TYPE = f"{MEDIA_TYPE}; charset=utf-8"

_SEQ = {"type": "integer", "minimum": 0, "maximum": SEQ_MAX}


def _frames(subscription: ThreadSubscription, gone: Callable[[], bool] | None) -> Iterator[str]:
    # The ping goes out at once: the client then knows it is subscribed, and that every change
    # committed after it will arrive.
    yield HEARTBEAT
    yield from subscription.frames(client_gone=gone)


class EventStreamViewSet(ProjectScopedViewSet):
    # GET only: a HEAD would hold a thread for a stream nobody reads (405, `Allow: GET`).
    http_method_names = ["get"]
    authentication_classes = [StreamTokenAuthentication]
    schema_tags = ["events"]

    last_event_id: int | None = None

    def validate_request(self, request: Request) -> None:
        """The path's and the resume point's violations in one 422, as any validation; a
        documented query value holding U+0000 is `invalid_characters` instead of whatever else
        it would be (contract/DECISIONS.md, the hostile-input rule)."""
        errors = []
        try:
            super().validate_request(request)
        except RequestValidationError as exc:
            errors += exc.errors
        nul_locs = query_nul_locations(
            ((name, v) for name, values in request.query_params.lists() for v in values),
            (ACCESS_TOKEN_PARAMETER, LAST_EVENT_ID_PARAMETER),
        )
        query = request.query_params.get(LAST_EVENT_ID_PARAMETER)
        try:
            self.last_event_id = parse_last_event_id(
                request.headers.get(LAST_EVENT_ID_HEADER),
                None if ["query", LAST_EVENT_ID_PARAMETER] in nul_locs else query,
            )
        except InvalidLastEventId as exc:
            errors += last_event_id_violations(exc).errors
        errors += [
            field_error(loc, "invalid_characters", "String should not contain U+0000.")
            for loc in nul_locs
        ]
        if errors:
            raise RequestValidationError(errors)

    @extend_schema(
        operation_id="streamProjectEvents",
        summary="Stream the activity of a project (Server-Sent Events)",
        parameters=[
            OpenApiParameter(
                ACCESS_TOKEN_PARAMETER,
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="The access token, for clients that cannot send `Authorization` "
                "(a browser `EventSource`); ignored when an `Authorization` header is sent.",
            ),
            OpenApiParameter(
                LAST_EVENT_ID_HEADER,
                _SEQ,
                OpenApiParameter.HEADER,
                description="Resume after this event `id`; wins over `last_event_id`.",
            ),
            OpenApiParameter(
                LAST_EVENT_ID_PARAMETER,
                _SEQ,
                OpenApiParameter.QUERY,
                description="Resume after this event `id`.",
            ),
        ],
        responses={
            (200, MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.STR,
                description="The project's activity as Server-Sent Events: `: ping` first, "
                "then one `activity` event per entry (`id`: its `seq`), a `: ping` after 15 "
                "seconds without one, until the client leaves, the token expires or the caller "
                "is removed from the project.",
            ),
            **problems(401, 404, 422),
        },
    )
    def stream(self, request: Request, project_id: uuid.UUID) -> StreamingHttpResponse:
        project = self.get_project()  # 404 unless the caller is a member
        connection.close()  # back to the pool: the stream reads through the hub
        slot = long_calls().admit()  # StreamsFull → 503, Retry-After: 5
        try:
            subscription = live.hub().subscribe(
                project.pk,
                self.last_event_id,
                viewer=request.user.pk,  # ends after their removal from the project ...
                expires_at=request.auth.expires_at,  # ... or when their token expires
            )
        except BaseException:
            slot.release()
            raise
        return StreamingHttpResponse(
            slot.hold(_frames(subscription, client_gone(request.META)), subscription),
            content_type=STREAM_CONTENT_TYPE,
            headers=STREAM_HEADERS,
        )
