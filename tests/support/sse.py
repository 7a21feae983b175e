"""A small Server-Sent Events client for the suite (the event stream of contract 1.2, issue 16).

`open_stream(client, url, ...)` sends the GET through a `ContractClient` (so the status and
headers are held to the contract as they arrive) and returns an `EventStream`:

- a 200's body is read by a thread of its own, parsed as the WHATWG `text/event-stream` format
  (lines end in CRLF, LF or CR; `:` starts a comment; `field: value` with one optional space;
  a blank line ends an event) into a queue of `Frame`s, each stamped with the monotonic time it
  was complete — so a test waits for frames with a timeout of its own and measures latency;
- comments are frames too (`Frame.comment`): the stream's first bytes are the heartbeat
  `: ping`, sent once the server has registered the subscription, so `subscribed()` — waiting
  for that first comment — is the suite's "every commit from now on will arrive" signal;
- `close()` ends it mid-stream at once (the socket is shut down under the reading thread), as a
  client that goes away would;
- another status: the body is read and the response is checked whole (`.response`, a problem).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.client import ContractClient

# A stream that sends nothing — not even its 15 s heartbeat — for this long is dead.
READ_TIMEOUT_SECONDS = 60.0
HEARTBEAT_COMMENT = "ping"


class StreamTimeout(AssertionError):
    """No frame within the time a test allowed."""


class StreamEnded(AssertionError):
    """The server ended the stream (or the connection broke) while a frame was awaited."""


@dataclass(frozen=True)
class Frame:
    """One thing the stream said: an event, or a comment (`comment` set, nothing else)."""

    at: float  # time.monotonic() when its last line arrived
    comment: str | None = None
    event: str | None = None  # the `event` field as sent (None: absent)
    data: str | None = None  # the `data` lines joined with "\n" (None: no data line)
    id: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # every field line, in order, as sent

    @property
    def is_comment(self) -> bool:
        return self.comment is not None

    def json(self) -> Any:
        assert self.data is not None, f"an event without data: {self}"
        return json.loads(self.data)

    @property
    def seq(self) -> int:
        assert self.id is not None and self.id.isascii() and self.id.isdigit(), self
        return int(self.id)


@dataclass
class _End:
    at: float
    error: BaseException | None


def parse_line(line: str, pending: dict[str, Any]) -> Frame | None:
    """Feed one line (without its terminator); a Frame when it completes one."""
    now = time.monotonic()
    if line == "":
        fields = pending.pop("fields", [])
        if not fields:
            return None
        data = [value for name, value in fields if name == "data"]
        return Frame(
            at=now,
            event=next((v for k, v in reversed(fields) if k == "event"), None),
            data="\n".join(data) if data else None,
            id=next((v for k, v in reversed(fields) if k == "id"), None),
            fields=tuple(fields),
        )
    if line.startswith(":"):
        text = line[1:]
        return Frame(at=now, comment=text[1:] if text.startswith(" ") else text)
    name, colon, value = line.partition(":")
    if colon and value.startswith(" "):
        value = value[1:]
    pending.setdefault("fields", []).append((name, value))
    return None


@dataclass
class EventStream:
    response: httpx.Response
    _frames: queue.Queue[Frame | _End] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _socket: socket.socket | None = None
    _closed: bool = False
    client_port: int | None = None  # this end's TCP port (the server sees the connection from it)
    ended: _End | None = None
    received: list[Frame] = field(default_factory=list)  # every frame taken so far

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def _start(self) -> None:
        with contextlib.suppress(Exception):  # only to close it harder; not essential
            stream = self.response.extensions["network_stream"]
            self._socket = stream.get_extra_info("socket")
            self.client_port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._read, daemon=True, name="sse-reader")
        self._thread.start()

    def _read(self) -> None:
        pending: dict[str, Any] = {}
        error: BaseException | None = None
        try:
            for line in self.response.iter_lines():
                frame = parse_line(line, pending)
                if frame is not None:
                    self._frames.put(frame)
        except Exception as exc:  # noqa: BLE001 - reported to whoever waits for a frame
            error = exc
        self._frames.put(_End(time.monotonic(), None if self._closed else error))

    # ------------------------------------------------------------------ reading

    def next_frame(self, timeout: float) -> Frame:
        if self.ended is not None:
            raise StreamEnded(f"the stream has ended ({self.ended.error!r})")
        try:
            item = self._frames.get(timeout=timeout)
        except queue.Empty:
            raise StreamTimeout(f"no frame within {timeout} s") from None
        if isinstance(item, _End):
            self.ended = item
            raise StreamEnded(f"the stream ended ({item.error!r})")
        self.received.append(item)
        return item

    def subscribed(self, timeout: float = 15.0) -> Frame:
        """Wait for the stream's first frame, which must be the heartbeat comment."""
        frame = self.next_frame(timeout)
        assert frame.is_comment and frame.comment == HEARTBEAT_COMMENT, (
            f"the stream's first frame is not the `: ping` heartbeat: {frame}"
        )
        return frame

    def next_event(self, timeout: float = 10.0) -> Frame:
        """The next event (heartbeat comments skipped) within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(max(0.0, deadline - time.monotonic()))
            if not frame.is_comment:
                return frame

    def events(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """The next `count` events, all within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        got: list[Frame] = []
        while len(got) < count:
            try:
                got.append(self.next_event(max(0.0, deadline - time.monotonic())))
            except StreamTimeout:
                raise StreamTimeout(
                    f"{len(got)} of {count} events within {timeout} s: "
                    f"{[(f.id, f.data and f.json().get('verb')) for f in got]}"
                ) from None
        return got

    def quiet(self, seconds: float) -> list[Frame]:
        """The events that arrive within `seconds` (a test asserts there are none)."""
        deadline = time.monotonic() + seconds
        extra: list[Frame] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                extra.append(self.next_event(left))
            except StreamTimeout:
                break
        return extra

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Go away mid-stream: the socket is shut down at once, the reader ends."""
        if self._closed:
            return
        self._closed = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self.response.close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stream(
    client: httpx.Client,
    url: str,
    *,
    params: Any = None,
    headers: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> EventStream:
    """GET `url` as an event stream. A 200 is read in the background; any other answer is read
    whole (and, through a ContractClient, checked whole) — `stream.response`."""
    request = client.build_request(
        "GET",
        url,
        params=params,
        headers=headers,
        timeout=httpx.Timeout(timeout, read=READ_TIMEOUT_SECONDS),
    )
    response = client.send(request, stream=True)
    stream = EventStream(response)
    if response.status_code != 200:
        response.read()
        response.close()
        if isinstance(client, ContractClient):
            client.check(response)
        stream._closed = True
        return stream
    stream._start()
    return stream


class Streams:
    """The streams a test opened, closed at its end (a fixture holds one)."""

    def __init__(self) -> None:
        self.opened: list[EventStream] = []

    def open(self, client: httpx.Client, url: str, **kwargs: Any) -> EventStream:
        stream = open_stream(client, url, **kwargs)
        self.opened.append(stream)
        return stream

    def subscribe(self, client: httpx.Client, url: str, **kwargs: Any) -> EventStream:
        """Open, expect 200, and wait until subscribed (the first `: ping`)."""
        stream = self.open(client, url, **kwargs)
        assert stream.status_code == 200, (
            f"GET {url}: expected 200, got {stream.status_code}: {stream.response.text[:500]}"
        )
        stream.subscribed()
        return stream

    def close(self) -> None:
        for stream in self.opened:
            stream.close()
        self.opened.clear()
