"""The assistant's upstream call for asyncio servers (FastAPI, Litestar).

    assistant = AsyncAssistant.from_settings(settings)      # once per process (lifespan)
    assistant.ensure_configured()                          # NotConfigured (503) before any work
    relay = await assistant.open_stream(messages)          # raises before anything is sent
    ...  StreamingResponse(relay.frames())                 # or relay.events()
    answer = await assistant.answer(messages)              # stream: false
    await assistant.aclose()                               # shutdown

`open_stream` returns once the upstream has answered 2xx with an event stream and its first
event has arrived, all within LLM_TIMEOUT_SECONDS; otherwise it raises UpstreamError (502) or
UpstreamTimeout (504) and has closed the upstream request. After that the relay's generator
ends every stream with `done` or `error`, and closes the upstream request when it ends — also
when the server stops iterating it (the client went away: the task is cancelled or the
generator closed), so the upstream sees its connection close at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import httpx
from httpx_sse import EventSource, ServerSentEvent

from shared.assistant import frames
from shared.assistant.errors import AssistantError, NotConfigured, UpstreamError, UpstreamTimeout
from shared.assistant.upstream import (
    MAX_ANSWER_BYTES,
    TRANSPORT_ERRORS,
    ChunkReader,
    Upstream,
    async_client,
    check_media_type,
    check_status,
    failure,
    read_answer,
    reported,
)
from shared.settings import Settings

# Closing an upstream request is short; it runs even in a task being cancelled (anyio cancels
# level-triggered: without the shield, the close itself would be cancelled).
CLOSE_SECONDS = 2.0


async def _close(response: httpx.Response | None, sse: Any = None) -> None:
    with anyio.move_on_after(CLOSE_SECONDS, shield=True):
        if sse is not None:
            await sse.aclose()
        if response is not None:
            await response.aclose()


class AsyncRelay:
    """An upstream stream that has started well: iterate `frames()` (SSE text) or `events()`
    (AssistantEvent) once. `aclose()` is idempotent."""

    def __init__(
        self,
        response: httpx.Response,
        sse: AsyncIterator[ServerSentEvent],
        reader: ChunkReader,
        first_text: str,
        timeout: float,
    ) -> None:
        self._response = response
        self._sse = sse
        self._reader = reader
        self._first_text = first_text  # the first event's content, read by open_stream
        self._timeout = timeout

    async def _next(self) -> ServerSentEvent | None:
        """The upstream's next event, None at its end; UpstreamTimeout after a gap longer than
        LLM_TIMEOUT_SECONDS."""
        try:
            async with asyncio.timeout(self._timeout):
                return await anext(self._sse)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise UpstreamTimeout("upstream stalled mid-stream") from None
        except TRANSPORT_ERRORS as exc:
            raise failure(exc) from None

    async def events(self) -> AsyncIterator[frames.AssistantEvent]:
        """`token` per non-empty delta, then `done` — or `error` with the problem."""
        reader = self._reader
        try:
            text, self._first_text = self._first_text, ""
            while True:
                if text:
                    yield frames.token(text)
                if reader.over:
                    break
                text = reader.follow(await self._next())
            yield frames.done(*reader.summary())
        except AssistantError as exc:
            yield frames.error(reported(exc).problem())
        finally:
            await self.aclose()

    async def frames(self) -> AsyncIterator[str]:
        """The SSE text of `events()`, frame by frame."""
        events = self.events()
        try:
            async for event in events:
                yield event.frame()
        finally:
            await events.aclose()

    async def aclose(self) -> None:
        await _close(self._response, self._sse)


class AsyncAssistant:
    """The assistant's upstream for one asyncio server process: one httpx.AsyncClient."""

    def __init__(self, upstream: Upstream | None, client: httpx.AsyncClient | None) -> None:
        self.upstream = upstream
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> AsyncAssistant:
        upstream = Upstream.from_settings(settings)
        return cls(upstream, async_client(settings) if upstream is not None else None)

    @property
    def configured(self) -> bool:
        return self.upstream is not None

    def ensure_configured(self) -> tuple[Upstream, httpx.AsyncClient]:
        """NotConfigured (503) without LLM_BASE_URL: call it before reading the prompt's rows."""
        if self.upstream is None or self._client is None:
            raise NotConfigured("LLM_BASE_URL is not set")
        return self.upstream, self._client

    async def open_stream(self, messages: Sequence[Mapping[str, Any]]) -> AsyncRelay:
        upstream, client = self.ensure_configured()
        request = client.build_request(
            "POST", upstream.url, **upstream.request_kwargs(messages, stream=True)
        )
        response: httpx.Response | None = None
        sse: Any = None
        try:
            async with asyncio.timeout(upstream.timeout):
                response = await client.send(request, stream=True, auth=upstream.auth)
                check_status(response)
                check_media_type(response, frames.MEDIA_TYPE)
                sse = EventSource(response).aiter_sse()
                first = await anext(sse)
            reader = ChunkReader(upstream.model)
            first_text = reader.follow(first)
        except StopAsyncIteration:
            await _close(response, sse)
            raise reported(UpstreamError("upstream stream ended before its first event")) from None
        except (AssistantError, TimeoutError, *TRANSPORT_ERRORS) as exc:
            await _close(response, sse)
            raise reported(exc) from None
        except BaseException:  # cancelled (the client went away meanwhile), or a bug
            await _close(response, sse)
            raise
        return AsyncRelay(response, sse, reader, first_text, upstream.timeout)

    async def answer(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The whole answer `{answer, model, usage}` within LLM_TIMEOUT_SECONDS."""
        upstream, client = self.ensure_configured()
        request = client.build_request(
            "POST", upstream.url, **upstream.request_kwargs(messages, stream=False)
        )
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(upstream.timeout):
                response = await client.send(request, stream=True, auth=upstream.auth)
                check_status(response)
                check_media_type(response, "application/json")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise UpstreamError("upstream answer is larger than 1 MiB")
            return read_answer(bytes(body), upstream.model)
        except (AssistantError, TimeoutError, *TRANSPORT_ERRORS) as exc:
            raise reported(exc) from None
        finally:
            await _close(response)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
