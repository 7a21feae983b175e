"""The fake upstream as a bare ASGI application (no web framework, so it favours none of the
four): `POST /v1/chat/completions` in OpenAI's shapes, streamed or not, and `GET /_fake/records`.

Each request gets a task that waits for the ASGI `http.disconnect` message, so a client that
goes away is noticed at once: while tokens stream, while stalled and while hung. Records are
written from the server's event loop and read from any thread (tests), under one lock."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from shared.fake_llm.behaviour import Behaviour, Mode, Outcome, RequestRecord
from shared.fake_llm.completion import Completion, InvalidRequest, plan

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

COMPLETIONS_PATH = "/v1/chat/completions"
RECORDS_PATH = "/_fake/records"
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_RECORDS = 10_000  # a long benchmark keeps the latest ones only


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _error_body(message: str, kind: str, param: str | None = None) -> bytes:
    return _json({"error": {"message": message, "type": kind, "param": param, "code": None}})


class _Exchange:
    """One request in flight: ended early by the client going away or by the fake stopping."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        self.stop = asyncio.Event()
        self.reason: Outcome | None = None
        self.finishing = False  # the last bytes are being sent: a disconnect now is not a cancel

    def end(self, reason: Outcome) -> None:
        if self.reason is None:
            self.reason = reason
            self.stop.set()

    async def pause(self, seconds: float) -> bool:
        """Wait `seconds`; True when the exchange was ended meanwhile."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()


class FakeUpstream:
    """The ASGI application. `tokens`, `token_delay_ms` and `behaviour` may be changed at any
    time; a request uses the values it found when it arrived."""

    def __init__(
        self,
        *,
        tokens: int = 20,
        token_delay_ms: float = 0.0,
        behaviour: Behaviour | None = None,
        max_records: int = MAX_RECORDS,
    ) -> None:
        self.tokens = tokens
        self.token_delay_ms = token_delay_ms
        self._behaviour = behaviour or Behaviour.ok()
        self._max_records = max_records
        self._records: dict[int, RequestRecord] = {}
        self._seq = 0
        self._changed = threading.Condition()
        self._live: set[_Exchange] = set()
        self._closing = False

    # ------------------------------------------------------------------ state (any thread)

    @property
    def behaviour(self) -> Behaviour:
        with self._changed:
            return self._behaviour

    @behaviour.setter
    def behaviour(self, behaviour: Behaviour) -> None:
        with self._changed:
            self._behaviour = behaviour

    @property
    def records(self) -> list[RequestRecord]:
        """Snapshots: a record read here does not change under the reader."""
        with self._changed:
            return [copy.copy(r) for r in self._records.values()]

    def clear_records(self) -> None:
        with self._changed:
            self._records.clear()

    def wait_for(
        self, predicate: Callable[[RequestRecord], bool], timeout: float = 5.0
    ) -> RequestRecord:
        """The first record satisfying `predicate`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((r for r in self._records.values() if predicate(r)), None)
                if found is not None:
                    return copy.copy(found)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no request record matched within {timeout} s; records: "
                        f"{[r.summary() for r in self._records.values()]}"
                    )
                self._changed.wait(left)

    def _take_behaviour(self) -> Behaviour:
        with self._changed:
            taken = self._behaviour
            if taken.times is not None:
                left = taken.times - 1
                self._behaviour = dataclasses.replace(taken, times=left) if left else Behaviour.ok()
            return taken

    def _new_record(self, **fields: Any) -> RequestRecord:
        with self._changed:
            self._seq += 1
            record = RequestRecord(seq=self._seq, received_at=time.monotonic(), **fields)
            self._records[record.seq] = record
            while len(self._records) > self._max_records:
                del self._records[next(iter(self._records))]
            self._changed.notify_all()
            return record

    def _update(self, seq: int, **changes: Any) -> None:
        with self._changed:
            record = self._records.get(seq)
            if record is not None:
                for name, value in changes.items():
                    setattr(record, name, value)
            self._changed.notify_all()

    def _add_token(self, seq: int) -> None:
        with self._changed:  # per token: an attribute, not a new record (1000 streams at once)
            record = self._records.get(seq)
            if record is not None:
                record.tokens_sent += 1
            self._changed.notify_all()

    # ------------------------------------------------------------------ lifecycle (loop thread)

    def open(self) -> None:
        self._closing = False

    def close(self) -> None:
        """The server is stopping: end hung, stalled and streaming requests now, so that the
        graceful shutdown does not wait for clients that may never go away."""
        self._closing = True
        for exchange in list(self._live):
            exchange.end(Outcome.SHUTDOWN)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start
        path, method = scope["path"], scope["method"]
        if path == RECORDS_PATH and method == "GET":
            with self._changed:
                summaries = [r.summary() for r in self._records.values()]
            await _respond(send, 200, _json(summaries))
            return
        if path != COMPLETIONS_PATH:
            await _respond(send, 404, _error_body(f"Unknown path {path}", "invalid_request_error"))
            return
        if method != "POST":
            await _respond(
                send,
                405,
                _error_body(f"Method {method} not allowed", "invalid_request_error"),
                [(b"allow", b"POST")],
            )
            return
        await self._chat_completions(scope, receive, send)

    async def _chat_completions(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        if raw is None:
            return  # the client left before the request was whole
        if raw is _TOO_LARGE:
            await _respond(send, 413, _error_body("Request too large", "invalid_request_error"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        record = self._new_record(
            method=scope["method"], path=scope["path"], has_api_key=_has_api_key(scope), body=body
        )
        seq = record.seq
        try:
            completion = plan(body, self.tokens)
        except InvalidRequest as exc:
            await _respond(send, 400, _error_body(str(exc), "invalid_request_error", exc.param))
            self._update(seq, status=400, outcome=Outcome.COMPLETED, ended_at=time.monotonic())
            return
        behaviour = self._take_behaviour()
        self._update(seq, mode=behaviour.mode, stream=completion.stream, answer=completion.text)
        exchange = _Exchange(seq)
        with self._in_flight(exchange, receive):
            await self._answer(exchange, completion, behaviour, send)

    @contextlib.contextmanager
    def _in_flight(self, exchange: _Exchange, receive: Receive) -> Iterator[None]:
        self._live.add(exchange)
        if self._closing:
            exchange.end(Outcome.SHUTDOWN)
        watcher = asyncio.create_task(self._watch_disconnect(exchange, receive))
        try:
            yield
        except asyncio.CancelledError:  # uvicorn gave up waiting for it at shutdown
            exchange.end(Outcome.SHUTDOWN)
            raise
        finally:
            watcher.cancel()
            self._live.discard(exchange)
            self._update(
                exchange.seq,
                outcome=exchange.reason or Outcome.COMPLETED,
                ended_at=time.monotonic(),
            )

    async def _watch_disconnect(self, exchange: _Exchange, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not exchange.finishing and exchange.reason is None:
            self._update(exchange.seq, cancelled_at=time.monotonic())
            exchange.end(Outcome.CANCELLED)

    async def _answer(
        self, exchange: _Exchange, completion: Completion, behaviour: Behaviour, send: Send
    ) -> None:
        seq = exchange.seq
        delay = self.token_delay_ms / 1000
        if behaviour.mode is Mode.ERROR:
            self._update(seq, status=behaviour.status)
            exchange.finishing = True
            await _respond(
                send,
                behaviour.status,
                _error_body(
                    "The server had an error while processing your request.", "server_error"
                ),
            )
            return
        if behaviour.mode is Mode.HANG:
            await exchange.stop.wait()
            await self._shutting_down(exchange, send)
            return
        if completion.stream:
            stall_after = behaviour.after if behaviour.mode is Mode.STALL else None
            await _Stream(self, exchange, completion, send, delay).run(stall_after)
            return
        if behaviour.mode is Mode.STALL:  # the headers, then nothing
            await _start(send, 200, b"application/json", seq)
            self._update(seq, status=200)
            await exchange.stop.wait()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if await exchange.pause(delay * len(completion.tokens)):  # as long as streaming takes
            await self._shutting_down(exchange, send)
            return
        answer = {
            "id": _completion_id(seq),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": completion.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": completion.finish_reason,
                }
            ],
            "usage": completion.usage,
        }
        self._update(seq, status=200)
        exchange.finishing = True
        await _respond(send, 200, _json(answer), request_seq=seq)
        self._update(seq, tokens_sent=len(completion.tokens))

    async def _shutting_down(self, exchange: _Exchange, send: Send) -> None:
        """Before the headers: a client still waiting when the fake stops learns why."""
        if exchange.reason is Outcome.SHUTDOWN:
            self._update(exchange.seq, status=503)
            await _respond(send, 503, _error_body("The fake is shutting down.", "server_error"))


class _Stream:
    """OpenAI's chunk sequence: a role chunk, one chunk per token, a chunk with the finish
    reason, the usage chunk when `stream_options.include_usage` asked for it, `[DONE]`."""

    def __init__(
        self,
        upstream: FakeUpstream,
        exchange: _Exchange,
        completion: Completion,
        send: Send,
        delay: float,
    ) -> None:
        self.upstream = upstream
        self.exchange = exchange
        self.completion = completion
        self.send = send
        self.delay = delay
        self.created = int(time.time())

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        chunk = {
            "id": _completion_id(self.exchange.seq),
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.completion.model,
            "choices": choices,
            **extra,
        }
        if self.completion.include_usage and "usage" not in chunk:
            chunk["usage"] = None  # as OpenAI: every chunk but the last has "usage": null
        return chunk

    def _delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": delta, "finish_reason": finish_reason}])

    async def _event(self, data: dict[str, Any] | str, *, last: bool = False) -> None:
        payload = data if isinstance(data, str) else _json(data).decode()
        await self.send(
            {
                "type": "http.response.body",
                "body": f"data: {payload}\n\n".encode(),
                "more_body": not last,
            }
        )

    async def run(self, stall_after: int | None) -> None:
        exchange, seq = self.exchange, self.exchange.seq
        await _start(self.send, 200, b"text/event-stream; charset=utf-8", seq)
        self.upstream._update(seq, status=200)
        await self._event(self._delta({"role": "assistant", "content": ""}))
        for i, token in enumerate(self.completion.tokens):
            if i == stall_after:
                break
            if await exchange.pause(self.delay):
                break
            await self._event(self._delta({"content": token}))
            self.upstream._add_token(seq)
        if stall_after is not None:
            await exchange.stop.wait()  # the connection stays open until someone gives up
        if exchange.stop.is_set():
            if exchange.reason is Outcome.SHUTDOWN:  # end the body, without [DONE]
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self._event(self._delta({}, self.completion.finish_reason))
        if self.completion.include_usage:
            await self._event(self._chunk([], usage=self.completion.usage))
        exchange.finishing = True
        await self._event("[DONE]", last=True)


_TOO_LARGE = b"\x00too large"


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return _TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _has_api_key(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            return scheme.lower() == "bearer" and bool(credentials.strip())
    return False


def _completion_id(seq: int) -> str:
    return f"chatcmpl-fake{seq:08d}"


async def _start(
    send: Send,
    status: int,
    content_type: bytes,
    request_seq: int | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"cache-control", b"no-cache")]
    if request_seq is not None:
        headers.append((b"x-request-id", f"req-fake{request_seq:08d}".encode()))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + (extra_headers or []),
        }
    )


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    *,
    request_seq: int | None = None,
) -> None:
    length = [(b"content-length", str(len(body)).encode())]
    await _start(send, status, b"application/json", request_seq, length + (extra_headers or []))
    await send({"type": "http.response.body", "body": body, "more_body": False})
