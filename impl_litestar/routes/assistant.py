"""The project assistant (SPEC section 8): a question about the project's open tasks, answered
by the configured OpenAI-compatible upstream — relayed as Server-Sent Events, or whole.

The prompt, the upstream call, its deadlines and 502/503/504 are shared.assistant's; this is
the route: the usual checks (401, 415/400/422, 404), then 503 when no upstream is configured,
the prompt's rows read and the request's session released (a call lasts up to
LLM_TIMEOUT_SECONDS and holds no pooled connection), and the status decided before the first
byte (`open_stream` returns only once the upstream's first event is in)."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.live import provide_assistant
from impl_litestar.openapi import BEARER, AssistantOperation, problem_responses
from impl_litestar.permissions import ProjectAccess, project_role
from impl_litestar.schemas import AssistantAnswer, AssistantQuestion, AssistantUsage
from impl_litestar.streaming import ReleasedStream
from shared.assistant import HEADERS, MEDIA_TYPE, OPEN_TASKS, AsyncAssistant, messages


class AssistantController(Controller):
    path = "/projects/{project_id:str}/assistant"
    tags = ["assistant"]
    security = BEARER

    @post(
        "/",
        operation_id="askAssistant",
        summary="Ask the project assistant",
        status_code=200,
        dependencies={
            "access": project_role(),
            "assistant": Provide(provide_assistant, sync_to_thread=False),
        },
        operation_class=AssistantOperation,
        responses=problem_responses(400, 401, 404, 415, 422, 502, 504),
    )
    async def ask_assistant(
        self,
        data: AssistantQuestion,
        db_session: AsyncSession,
        access: ProjectAccess,
        assistant: AsyncAssistant,
    ) -> Response[AssistantAnswer]:  # or a Stream (documented by AssistantOperation)
        """`stream: true` (the default): `token` events, then `done` (or `error` after a
        failure mid-stream); `stream: false`: the whole answer as JSON."""
        assistant.ensure_configured()  # 503 before any work
        rows = (await db_session.execute(OPEN_TASKS, {"project_id": access.project_id})).all()
        prompt = messages(rows, data.question)
        await db_session.close()  # the upstream call holds no pooled connection
        if not data.stream:
            answer = await assistant.answer(prompt)
            usage = answer["usage"]
            return Response(
                AssistantAnswer(
                    answer=answer["answer"],
                    model=answer["model"],
                    usage=AssistantUsage(usage["prompt_tokens"], usage["completion_tokens"]),
                )
            )
        relay = await assistant.open_stream(prompt)  # 502/504 until the first event is in
        # Litestar adds `; charset=utf-8` to a text/* media type itself.
        return ReleasedStream(
            relay.frames(), release=relay.aclose, media_type=MEDIA_TYPE, headers=HEADERS
        )
