"""/api/v1/projects/{project_id}/assistant (askAssistant): a question about the project,
answered by the OpenAI-compatible upstream through shared.assistant.

Sync, as the rest of impl_drf: the call holds a gunicorn thread for as long as the upstream
takes (up to LLM_TIMEOUT_SECONDS, or the whole stream), so it takes one of the worker's
long-call slots, as an event stream does (shared.live.long_calls; 503 + `Retry-After: 5` past
them). The status is decided before the first byte: `open_stream` returns only once the
upstream answered 2xx and sent its first event, else it raises the 502/504 that
impl_drf.errors answers. The stream is a StreamingHttpResponse over the relay's sync
generator; a client that leaves is noticed at the next write (the next token), and closing the
body closes the upstream request and frees the slot."""

from __future__ import annotations

import uuid

from django.db import connection
from django.http import HttpResponseBase, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf import live, selectors
from impl_drf.errors import TooManyAssistantCalls
from impl_drf.openapi import problems
from impl_drf.serializers import AssistantAnswerSerializer, AssistantQuestionSerializer
from impl_drf.views.base import ProjectScopedViewSet
from shared.assistant import CONTENT_TYPE, HEADERS, MEDIA_TYPE, messages
from shared.live.long_calls import LongCall, long_calls
from shared.live.stream import StreamsFull


class AssistantViewSet(ProjectScopedViewSet):
    http_method_names = ["post"]
    body_serializer_classes = {"ask": AssistantQuestionSerializer}
    schema_tags = ["assistant"]

    @extend_schema(
        operation_id="askAssistant",
        summary="Ask the project assistant",
        request=AssistantQuestionSerializer,
        responses={
            (200, "application/json"): OpenApiResponse(
                AssistantAnswerSerializer, description="`stream: false`: the whole answer."
            ),
            (200, MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.STR,
                description="`stream: true`: `token` events, then `done` — or, after a "
                "failure mid-stream, `error`.",
            ),
            **problems(400, 401, 404, 415, 422, 502, 504),
        },
    )
    def ask(self, request: Request, project_id: uuid.UUID) -> HttpResponseBase:
        project = self.get_project()  # 404 unless the caller is a member
        assistant = live.assistant()
        assistant.ensure_configured()  # 503 without LLM_BASE_URL, before any work
        slot = _admit()
        try:
            prompt = messages(
                selectors.open_tasks_for_prompt(project.pk), self.validated_body["question"]
            )
            connection.close()  # back to the pool: the upstream call may take long
            if not self.validated_body["stream"]:
                with slot:
                    return Response(assistant.answer(prompt))
            relay = assistant.open_stream(prompt)  # 502/504 before anything is sent
        except BaseException:
            slot.release()
            raise
        return StreamingHttpResponse(
            slot.hold(relay.frames(), relay), content_type=CONTENT_TYPE, headers=HEADERS
        )


def _admit() -> LongCall:
    try:
        return long_calls().admit()
    except StreamsFull:
        raise TooManyAssistantCalls() from None
