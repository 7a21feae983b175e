"""The streaming model of the thread servers (Flask and DRF under gunicorn's gthread worker):
a long call — an event stream, an assistant call, streamed or not — holds one of the worker's
threads for as long as it lasts, so each worker process admits at most
`shared.settings.long_calls_per_worker()` of them at once (its threads less two) and refuses the
next with StreamsFull, which each implementation's errors module answers with 503 and
`Retry-After: 5`. The threads left over always serve ordinary requests: a burst of streams never
makes a `GET /tasks` wait for a thread.

The asyncio servers need none of this: a stream there is a task, and their hub's own cap
(shared.live.stream.MAX_ASYNC_STREAMS) bounds it.

    slot = long_calls().admit()          # StreamsFull past the cap: nothing is held
    return Response(slot.hold(body))     # released when the server closes the body

A slot is taken before anything is answered and given back when the WSGI server closes the
response body (after the last byte, or at the first failed write to a gone client), or at once
with `release()` when the call ends before a body exists (a 4xx/5xx decided first).

A write to a gone client does not always fail: the first one after the client leaves usually
succeeds (the kernel takes it; the peer answers it with a reset), so a quiet stream would hold its
slot for two heartbeats (~30 s). `client_gone(environ)` tells sooner: a stream that checks it
while it waits (shared.live.hub_threads.ThreadSubscription.frames) ends within a second of the
client closing its connection."""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any, Generic, Protocol, TypeVar

from shared.live.stream import StreamsFull
from shared.settings import long_calls_per_worker

T = TypeVar("T")

log = logging.getLogger("quartet.live")


class LongCalls:
    """A counting semaphore that never waits: a slot now, or StreamsFull."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    def admit(self) -> LongCall:
        with self._lock:
            if self._in_use >= self.limit:
                raise StreamsFull
            self._in_use += 1
        return LongCall(self)

    def _release(self) -> None:
        with self._lock:
            self._in_use -= 1


class LongCall:
    """One admitted long call's slot: given back once, however often `release()` is called."""

    def __init__(self, calls: LongCalls) -> None:
        self._calls = calls
        self._released = False
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._released:
                return
            self._released = True
        self._calls._release()

    def __enter__(self) -> LongCall:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def hold(self, body: Iterable[T], *resources: Closeable) -> HeldBody[T]:
        """`body` as a response body that keeps this slot until the server closes it; closing
        it also closes `resources` (e.g. the stream's subscription), before the slot is free."""
        return HeldBody(body, self, resources)


class Closeable(Protocol):
    def close(self) -> None: ...


class HeldBody(Generic[T]):
    """A response body (an iterable with `close()`, as WSGI servers and Django's
    StreamingHttpResponse call it) that closes the wrapped body and the resources, then gives
    the slot back. A generator's own `finally` would not do: closing a generator that never
    started runs none of its code, and a response can be closed before its first byte."""

    def __init__(self, body: Iterable[T], slot: LongCall, resources: Iterable[Closeable]) -> None:
        self._body = body
        self._iterator: Iterator[T] | None = None
        self._slot = slot
        self._resources = tuple(resources)
        self._closed = False

    def __iter__(self) -> Iterator[T]:
        if self._iterator is None:
            self._iterator = iter(self._body)
        return self._iterator

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Each is closed even if one before it raises; the slot is given back last.
        with ExitStack() as closing:
            closing.callback(self._slot.release)
            for closeable in reversed((self._iterator, self._body, *self._resources)):
                close = getattr(closeable, "close", None)
                if close is not None:
                    closing.callback(close)


# ------------------------------------------------------------------ a client that has gone

# The WSGI environ key under which gunicorn passes the client's socket.
GUNICORN_SOCKET = "gunicorn.socket"
_READABLE_OR_CLOSED = select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLNVAL


def client_gone(environ: dict[str, Any]) -> Callable[[], bool] | None:
    """A check — cheap, never blocking — of whether the client of this request has closed its
    connection, for a long call to ask while it waits; None when the server does not expose the
    socket (not gunicorn: a test client, a development server), which leaves the failed write
    as the only sign."""
    sock = environ.get(GUNICORN_SOCKET)
    if not isinstance(sock, socket.socket):
        return None
    return lambda: peer_closed(sock)


def peer_closed(sock: socket.socket) -> bool:
    """Whether the peer has closed `sock` (or it is broken): readable, and a peek reads the end
    of the stream — or fails. An HTTP client sends nothing more on a streaming response's
    connection, but bytes it did send (pipelined requests) are left unread and mean "still
    there"; only the end or an error means gone."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), _READABLE_OR_CLOSED)
        if not poller.poll(0):
            return False
        # The raw socket's recv even on a TLS socket (which refuses flags): a peek at the bytes
        # below TLS tells the end of the connection the same way, and consumes nothing.
        peeked = socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return False  # readable a moment ago, nothing to read now: still there
    except (OSError, ValueError):
        return True  # reset, or a socket closed already
    return peeked == b""


_process_calls: tuple[int, LongCalls] | None = None
_process_lock = threading.Lock()


def long_calls() -> LongCalls:
    """This process's long calls, created on first use with `long_calls_per_worker()` slots —
    and afresh in a forked child (gunicorn forks its workers; each worker has its own threads,
    hence its own slots)."""
    global _process_calls
    with _process_lock:
        if _process_calls is None or _process_calls[0] != os.getpid():
            _process_calls = (os.getpid(), LongCalls(long_calls_per_worker()))
        return _process_calls[1]


# ------------------------------------------------------------------ graceful stop

_stop_callbacks: list[Callable[[], None]] = []
_stop_lock = threading.Lock()
_stopping = False  # set in a server process whose graceful stop has begun (never in a master)


def on_graceful_stop(callback: Callable[[], None]) -> None:
    """Register what ends this process's endless long calls when a graceful stop begins — a
    thread hub's `close`, an asyncio hub's `end_streams` (its streams' generators then end and
    their responses complete). An event stream lasts until its token expires, so without this a
    SIGTERM waits out the server's whole graceful timeout; a client reconnects elsewhere with
    its Last-Event-ID and loses nothing. Once the stop has begun, the callback runs at once."""
    with _stop_lock:
        if not _stopping:
            _stop_callbacks.append(callback)
            return
    # The stop has begun already: a hub made after it (DRF makes its hub on the first stream,
    # which a worker may accept just before its listener closes) must not outlive the stop.
    callback()


def graceful_stop() -> None:
    """Run (once) what on_graceful_stop registered in this process: shared.gunicorn_worker
    calls it when gunicorn's graceful stop begins, shared.uvicorn_server when uvicorn's does."""
    global _stopping
    with _stop_lock:
        _stopping = True
        callbacks, _stop_callbacks[:] = list(_stop_callbacks), []
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("ending long calls at a graceful stop")
