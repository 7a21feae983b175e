"""The upstream: an OpenAI-compatible `POST {LLM_BASE_URL}/chat/completions`. What both relays
share — the HTTP clients (one per process), the request, and the reading of OpenAI's chunks and
answers — with no I/O of its own.

Safe by construction: the API key travels in the `Authorization` header only; credentials in
LLM_BASE_URL are moved out of the URL (httpx logs request URLs at INFO); no text of the
upstream's (its body, its error messages) is ever put in a problem, a frame or a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, SSEError

from shared.assistant.errors import AssistantError, UpstreamError, UpstreamTimeout
from shared.settings import Settings

log = logging.getLogger("quartet.assistant")

COMPLETIONS_PATH = "/chat/completions"
# asyncio servers: one connection per stream in flight, sized for the benchmark's 1000
# concurrent answers per process with room for the non-streamed ones; a few kept alive between
# bursts. Past it a request waits for a connection (within LLM_TIMEOUT_SECONDS, then 504).
ASYNC_MAX_CONNECTIONS = 1100
ASYNC_MAX_KEEPALIVE = 100
# Thread servers: a call holds a thread, so the threads bound the calls; the caller passes its
# thread count.
SYNC_MAX_CONNECTIONS = 64
# A whole (non-streamed) answer larger than this is not an answer: 502, and it is not read on.
MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where and how to call: the settings' LLM_* values, checked once."""

    url: str  # .../chat/completions, without credentials
    model: str
    timeout: float  # LLM_TIMEOUT_SECONDS
    headers: Mapping[str, str] = field(repr=False)  # may hold the API key: never printed
    auth: httpx.BasicAuth | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream | None:
        """None when LLM_BASE_URL is not set (the assistant answers 503)."""
        if settings.llm_base_url is None:
            return None
        base = httpx.URL(settings.llm_base_url)
        auth = None
        if base.userinfo:
            if settings.llm_api_key is None:
                auth = httpx.BasicAuth(base.username, base.password)
            base = base.copy_with(username=None, password=None)
        headers = {}
        if settings.llm_api_key is not None:
            headers["Authorization"] = f"Bearer {settings.llm_api_key}"
        return cls(
            url=str(base).rstrip("/") + COMPLETIONS_PATH,
            model=settings.llm_model,
            timeout=settings.llm_timeout_seconds,
            headers=headers,
            auth=auth,
        )

    def body(self, messages: Sequence[Mapping[str, Any]], *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "stream": stream}
        if stream:  # the usage arrives in a last chunk only when asked for
            body["stream_options"] = {"include_usage": True}
        return body

    def request_kwargs(
        self, messages: Sequence[Mapping[str, Any]], *, stream: bool
    ) -> dict[str, Any]:
        """`client.build_request("POST", upstream.url, **upstream.request_kwargs(...))`."""
        accept = "text/event-stream" if stream else "application/json"
        return {
            "headers": {**self.headers, "Accept": accept},
            "json": self.body(messages, stream=stream),
        }


def timeouts(seconds: float) -> httpx.Timeout:
    """Every phase bounded by LLM_TIMEOUT_SECONDS (httpx's default is 5 s for each); the relays
    add the overall deadlines (status and first event; the whole answer; the gap between two
    events)."""
    return httpx.Timeout(seconds)


def async_client(settings: Settings) -> httpx.AsyncClient:
    """The asyncio servers' client: one per process, made at startup, closed at shutdown."""
    return httpx.AsyncClient(
        timeout=timeouts(settings.llm_timeout_seconds),
        limits=httpx.Limits(
            max_connections=ASYNC_MAX_CONNECTIONS, max_keepalive_connections=ASYNC_MAX_KEEPALIVE
        ),
        follow_redirects=False,
    )


def sync_client(settings: Settings, max_connections: int = SYNC_MAX_CONNECTIONS) -> httpx.Client:
    """The thread servers' client: one per process (httpx.Client is thread-safe), made in the
    process that uses it — after gunicorn's fork, never before."""
    return httpx.Client(
        timeout=timeouts(settings.llm_timeout_seconds),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
    )


# ---------------------------------------------------------------- reading what comes back

# Whatever goes wrong on the way is one of these (or a timeout): the client is told 502/504,
# never the exception's text.
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.StreamError, SSEError)


def failure(exc: BaseException) -> AssistantError:
    """An exception of the upstream call as the error the client gets (its reason names the
    exception's class only: its text may hold the URL)."""
    if isinstance(exc, AssistantError):
        return exc
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return UpstreamTimeout(f"upstream timed out ({type(exc).__name__})")
    return UpstreamError(f"upstream call failed ({type(exc).__name__})")


def reported(exc: BaseException) -> AssistantError:
    """failure(exc), logged: once per failed call, where the relay gives up."""
    error = failure(exc)
    log.warning("assistant upstream call failed (%d): %s", error.status, error.reason)
    return error


def check_status(response: httpx.Response) -> None:
    """Non-2xx → UpstreamError (the body is not read: it may echo the request)."""
    if not 200 <= response.status_code < 300:
        raise UpstreamError(f"upstream answered HTTP {response.status_code}")


def check_media_type(response: httpx.Response, expected: str) -> None:
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != expected:
        raise UpstreamError(f"upstream answered {media_type or 'no media type'}, not {expected}")


def _usage(value: Any) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UpstreamError("upstream usage is not an object")
    usage = {}
    for name in ("prompt_tokens", "completion_tokens"):
        count = value.get(name, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UpstreamError(f"upstream usage.{name} is not a count")
        usage[name] = count
    return usage


NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0}

DONE_SENTINEL = "[DONE]"


class ChunkReader:
    """Reads OpenAI's `chat.completion.chunk` events one by one: the content of each delta, and
    what the `done` event needs (the model and the usage, which comes in a last chunk)."""

    def __init__(self, model: str) -> None:
        self.model = model  # the configured one until the upstream names its own
        self.usage: dict[str, int] | None = None
        self.finished = False  # a finish_reason or [DONE] was seen
        self.over = False  # [DONE], or the end of a finished body: nothing follows

    def follow(self, event: ServerSentEvent | None) -> str:
        """The content of the stream's next event, or of its end (None): UpstreamError when
        the body ends before the answer finished."""
        if event is None:
            if not self.finished:
                raise UpstreamError("upstream ended the stream before finishing")
            self.over = True
            return ""
        return self.read(event.data) if event.data else ""

    def read(self, data: str) -> str:
        """The content of one event ('' for none); UpstreamError for anything not a chunk."""
        if data == DONE_SENTINEL:
            self.finished = self.over = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise UpstreamError("upstream event is not JSON") from None
        if not isinstance(chunk, dict):
            raise UpstreamError("upstream event is not a JSON object")
        if "error" in chunk:  # OpenAI reports a failure mid-stream this way
            raise UpstreamError("upstream reported an error mid-stream")
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        usage = _usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise UpstreamError("upstream choices is not a list")
        text = ""
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                self.finished = True
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if content is not None and not isinstance(content, str):
                raise UpstreamError("upstream delta content is not a string")
            text += content or ""
        return text

    def summary(self) -> tuple[str, dict[str, int]]:
        """The `done` event's model and usage (zeros when the upstream reported none)."""
        return self.model, self.usage or dict(NO_USAGE)


def read_answer(raw: bytes, model: str) -> dict[str, Any]:
    """A whole `chat.completion` as the contract's AssistantAnswer `{answer, model, usage}`."""
    try:
        completion = json.loads(raw)
    except ValueError:
        raise UpstreamError("upstream answer is not JSON") from None
    if not isinstance(completion, dict):
        raise UpstreamError("upstream answer is not a JSON object")
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("upstream answer has no choice")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise UpstreamError("upstream answer content is not a string")
    name = completion.get("model")
    return {
        "answer": content,
        "model": name if isinstance(name, str) and name else model,
        "usage": _usage(completion.get("usage")) or dict(NO_USAGE),
    }
