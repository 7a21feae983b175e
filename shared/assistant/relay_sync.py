"""The assistant's upstream call for thread servers (Flask, DRF under gunicorn gthread): the same
shape as relay_async, with blocking I/O.

    assistant = SyncAssistant.from_settings(settings)      # once per process (module or app)
    assistant.ensure_configured()                          # NotConfigured (503) before any work
    relay = assistant.open_stream(messages)                # raises before anything is sent
    ...  Response(relay.frames(), ...)                     # or relay.events()
    answer = assistant.answer(messages)                    # stream: false
    assistant.close()

The deadlines, with blocking sockets: every read waits at most LLM_TIMEOUT_SECONDS (httpx's read
timeout), and after each read the relay checks the clock. So the decisions are the async relay's
— no status and first event within the timeout → 504, a gap longer than it between two events →
504, a whole answer later than it → 504 — while the time to reach the decision can exceed the
timeout when an upstream trickles bytes (at most twice it: one more read).

A client that goes away is seen by the WSGI server only when a write fails; it then closes the
generator, which closes the upstream request (GeneratorExit at the `yield`). With the upstream
sending a token every d seconds, that is within about 2·d of the disconnect (the first write to a
closed socket usually succeeds; the next one fails)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent

from shared.assistant import frames
from shared.assistant.errors import AssistantError, NotConfigured, UpstreamError, UpstreamTimeout
from shared.assistant.upstream import (
    MAX_ANSWER_BYTES,
    SYNC_MAX_CONNECTIONS,
    TRANSPORT_ERRORS,
    ChunkReader,
    Upstream,
    check_media_type,
    check_status,
    failure,
    read_answer,
    reported,
    sync_client,
)
from shared.settings import Settings


def _close(response: httpx.Response | None, sse: Any = None) -> None:
    if sse is not None:
        sse.close()
    if response is not None:
        response.close()


class SyncRelay:
    """An upstream stream that has started well: iterate `frames()` (SSE text) or `events()`
    (AssistantEvent) once. `close()` is idempotent."""

    def __init__(
        self,
        response: httpx.Response,
        sse: Iterator[ServerSentEvent],
        reader: ChunkReader,
        first_text: str,
        timeout: float,
    ) -> None:
        self._response = response
        self._sse = sse
        self._reader = reader
        self._first_text = first_text  # the first event's content, read by open_stream
        self._timeout = timeout

    def _next(self) -> ServerSentEvent | None:
        started = time.monotonic()
        try:
            event = next(self._sse)
        except StopIteration:
            return None
        except TRANSPORT_ERRORS as exc:
            if isinstance(exc, httpx.TimeoutException):
                raise UpstreamTimeout("upstream stalled mid-stream") from None
            raise failure(exc) from None
        if time.monotonic() - started > self._timeout:  # bytes trickled, no whole event
            raise UpstreamTimeout("upstream stalled mid-stream")
        return event

    def events(self) -> Iterator[frames.AssistantEvent]:
        """`token` per non-empty delta, then `done` — or `error` with the problem."""
        reader = self._reader
        try:
            text, self._first_text = self._first_text, ""
            while True:
                if text:
                    yield frames.token(text)
                if reader.over:
                    break
                text = reader.follow(self._next())
            yield frames.done(*reader.summary())
        except AssistantError as exc:
            yield frames.error(reported(exc).problem())
        finally:
            self.close()

    def frames(self) -> Iterator[str]:
        """The SSE text of `events()`, frame by frame."""
        events = self.events()
        try:
            for event in events:
                yield event.frame()
        finally:
            events.close()

    def close(self) -> None:
        _close(self._response, self._sse)


class SyncAssistant:
    """The assistant's upstream for one thread-server process: one httpx.Client, made on first
    use in the process that uses it (a client made before gunicorn forks would be shared by the
    workers)."""

    def __init__(self, upstream: Upstream | None, settings: Settings, max_connections: int) -> None:
        self.upstream = upstream
        self._settings = settings
        self._max_connections = max_connections
        self._client: httpx.Client | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, max_connections: int = SYNC_MAX_CONNECTIONS
    ) -> SyncAssistant:
        """`max_connections`: the process's threads (a call holds one) is enough."""
        return cls(Upstream.from_settings(settings), settings, max_connections)

    @property
    def configured(self) -> bool:
        return self.upstream is not None

    def _client_of_this_process(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = sync_client(self._settings, self._max_connections)
                self._pid = os.getpid()
            return self._client

    def ensure_configured(self) -> tuple[Upstream, httpx.Client]:
        """NotConfigured (503) without LLM_BASE_URL: call it before reading the prompt's rows."""
        if self.upstream is None:
            raise NotConfigured("LLM_BASE_URL is not set")
        return self.upstream, self._client_of_this_process()

    def open_stream(self, messages: Sequence[Mapping[str, Any]]) -> SyncRelay:
        upstream, client = self.ensure_configured()
        request = client.build_request(
            "POST", upstream.url, **upstream.request_kwargs(messages, stream=True)
        )
        started = time.monotonic()
        response: httpx.Response | None = None
        sse: Any = None
        try:
            response = client.send(request, stream=True, auth=upstream.auth)
            check_status(response)
            check_media_type(response, frames.MEDIA_TYPE)
            sse = EventSource(response).iter_sse()
            first = next(sse)
            if time.monotonic() - started > upstream.timeout:
                raise UpstreamTimeout("upstream's first event came too late")
            reader = ChunkReader(upstream.model)
            first_text = reader.follow(first)
        except StopIteration:
            _close(response, sse)
            raise reported(UpstreamError("upstream stream ended before its first event")) from None
        except (AssistantError, TimeoutError, *TRANSPORT_ERRORS) as exc:
            _close(response, sse)
            raise reported(exc) from None
        except BaseException:  # cancelled (the client went away meanwhile), or a bug
            _close(response, sse)
            raise
        return SyncRelay(response, sse, reader, first_text, upstream.timeout)

    def answer(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The whole answer `{answer, model, usage}` within LLM_TIMEOUT_SECONDS."""
        upstream, client = self.ensure_configured()
        request = client.build_request(
            "POST", upstream.url, **upstream.request_kwargs(messages, stream=False)
        )
        deadline = time.monotonic() + upstream.timeout
        response: httpx.Response | None = None
        try:
            response = client.send(request, stream=True, auth=upstream.auth)
            check_status(response)
            check_media_type(response, "application/json")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise UpstreamError("upstream answer is larger than 1 MiB")
                if time.monotonic() > deadline:
                    raise UpstreamTimeout("upstream answer came too late")
            if time.monotonic() > deadline:
                raise UpstreamTimeout("upstream answer came too late")
            return read_answer(bytes(body), upstream.model)
        except (AssistantError, TimeoutError, *TRANSPORT_ERRORS) as exc:
            raise reported(exc) from None
        finally:
            _close(response)

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.close()
            self._client = None
