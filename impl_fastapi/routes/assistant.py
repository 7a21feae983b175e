"""The project assistant: a question about a project, answered by the configured
OpenAI-compatible upstream — relayed as Server-Sent Events, or as one JSON answer.

The status is decided before the first byte: the handler returns only once the upstream has
answered and sent its first event (502/504 otherwise, errors.py). The relay's frames are sent
as shared.assistant makes them (a plain StreamingResponse: EventSourceResponse would add pings
the contract does not have). A client that goes away cancels the body (Starlette listens for
the disconnect), which closes the upstream request at once; the background task closes it too
if the body never started."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from impl_fastapi.db import Session
from impl_fastapi.openapi import event_stream_content, problem_responses
from impl_fastapi.schemas import AssistantAnswer, AssistantQuestion, ResourceId
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import assistant as assistant_service
from impl_fastapi.validation import ContractRoute
from shared.assistant import HEADERS, MEDIA_TYPE, AsyncAssistant

router = APIRouter(
    prefix="/api/v1", tags=["assistant"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


async def process_assistant(request: Request) -> AsyncAssistant:
    assistant: AsyncAssistant = request.app.state.assistant
    return assistant


Assistant = Annotated[AsyncAssistant, Depends(process_assistant)]


@router.post(
    "/projects/{project_id}/assistant",
    operation_id="askAssistant",
    summary="Ask the project assistant",
    response_model=AssistantAnswer,
    responses={
        200: {
            "description": (
                "`stream: false`: the whole answer (`application/json`). `stream: true`: "
                "`token` events, then `done` — or, after a failure mid-stream, `error` "
                "(`text/event-stream`)."
            ),
            "content": event_stream_content(
                {"token": "AssistantToken", "done": "AssistantDone", "error": "Problem"}
            ),
        },
        **problem_responses(400, 401, 404, 415, 422, 502, 504),
    },
)
async def ask_assistant(
    project_id: ResourceId,
    body: AssistantQuestion,
    user: CurrentUser,
    session: Session,
    assistant: Assistant,
) -> Any:
    messages = await assistant_service.prompt(session, assistant, user, project_id, body.question)
    if not body.stream:
        return await assistant.answer(messages)
    relay = await assistant.open_stream(messages)
    response: Response = StreamingResponse(
        relay.frames(),
        media_type=MEDIA_TYPE,
        headers=HEADERS,
        background=BackgroundTask(relay.aclose),
    )
    return response
