"""The bytes the live scenarios' clients read, parsed incrementally and cheaply: an HTTP/1.1
response head, a chunked body, Server-Sent Events. A thousand subscribers at 50 events/s are
50,000 frames a second in one client process, so these parse only what the measurements need,
without a general HTTP client's machinery (a general client would make the client, not the
server, the bottleneck)."""

from __future__ import annotations

from dataclasses import dataclass, field


class WireError(ValueError):
    """The server sent bytes that are not HTTP/1.1 or not a chunked body."""


@dataclass(slots=True)
class Head:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header keeps the last value

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.strip().isdigit() else None


def parse_head(raw: bytes) -> Head:
    """`raw`: everything up to (not including) the blank line that ends the head."""
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise WireError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return Head(int(parts[1]), headers)


@dataclass(slots=True)
class ChunkedDecoder:
    """Transfer-Encoding: chunked, fed any split of the bytes; `done` after the last chunk and
    its trailer. Extra bytes after the end (a pipelined answer) are kept in `rest`."""

    _buffer: bytes = b""
    _remaining: int = 0  # bytes of the current chunk's data still to come
    _need_crlf: bool = False  # after a chunk's data
    done: bool = False
    rest: bytes = b""

    def feed(self, data: bytes) -> bytes:
        """The body bytes in `data` (and what was held back from earlier calls)."""
        if self.done:
            self.rest += data
            return b""
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        out: list[bytes] = []
        position = 0
        while position < len(buffer):
            if self._remaining:
                take = buffer[position : position + self._remaining]
                out.append(take)
                self._remaining -= len(take)
                position += len(take)
                if not self._remaining:
                    self._need_crlf = True
                continue
            if self._need_crlf:
                if len(buffer) - position < 2:
                    break
                if buffer[position : position + 2] != b"\r\n":
                    raise WireError("a chunk's data is not followed by CRLF")
                position += 2
                self._need_crlf = False
                continue
            end = buffer.find(b"\r\n", position)
            if end < 0:
                if len(buffer) - position > 1024:
                    raise WireError("a chunk-size line longer than 1 KiB")
                break
            size_text = buffer[position:end].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise WireError(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                # then optional trailer fields, then an empty line
                if buffer[end + 2 : end + 4] == b"\r\n":
                    finish = end + 4
                else:
                    trailer_end = buffer.find(b"\r\n\r\n", end)
                    if trailer_end < 0:
                        break  # the end has not fully come yet
                    finish = trailer_end + 4
                self.done = True
                self.rest = buffer[finish:]
                return b"".join(out)
            self._remaining = size
            position = end + 2
        self._buffer = buffer[position:]
        return b"".join(out)


@dataclass(slots=True)
class SseFrame:
    event: str | None = None
    data: str | None = None
    id: str | None = None
    comment: bool = False  # a frame of comment lines only (a heartbeat)


@dataclass(slots=True)
class SseParser:
    """text/event-stream frames from any split of the body. Lines end in LF, CRLF or CR; a
    frame ends at a blank line; `data` lines are joined with LF (the HTML standard's rules,
    minus the retry field, which no stream here sends)."""

    _buffer: bytes = b""
    _lines: list[bytes] = field(default_factory=list)

    def feed(self, data: bytes) -> list[SseFrame]:
        buffer = self._buffer + data if self._buffer else data
        if b"\r" in buffer:
            # A CR at the very end may be the first half of CRLF: hold it back.
            held = buffer.endswith(b"\r")
            body = buffer[:-1] if held else buffer
            buffer = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if held else b"")
        frames: list[SseFrame] = []
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = buffer[start:end]
            start = end + 1
            if line:
                self._lines.append(line)
            elif self._lines:
                frames.append(_frame(self._lines))
                self._lines = []
        self._buffer = buffer[start:]
        return frames


def _frame(lines: list[bytes]) -> SseFrame:
    frame = SseFrame()
    data: list[str] = []
    fields = 0
    for line in lines:
        if line.startswith(b":"):
            continue
        fields += 1
        name, _, value = line.partition(b":")
        text = value[1:] if value.startswith(b" ") else value
        if name == b"data":
            data.append(text.decode())
        elif name == b"event":
            frame.event = text.decode()
        elif name == b"id":
            frame.id = text.decode()
    if data:
        frame.data = "\n".join(data)
    frame.comment = fields == 0
    return frame
