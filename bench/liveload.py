"""The live scenarios' client processes, each pinned (taskset) off the server's CPU:

- `subscribe`: holds many event streams (SSE) in one asyncio process and records when each
  event arrives; the harness drives it with JSON lines on stdin (`open`, `ramp`, `drain`,
  `close`, `exit`) and reads one JSON line of answer per command on stdout;
- `writer`: commits changes straight to PostgreSQL at a fixed rate, open loop, and prints when
  each was sent and committed;
- `assistant`: N clients asking the assistant in a closed loop, each recording its request's
  time to first token and end.

Run by bench/live.py as `python -m bench.liveload KIND CONFIG_JSON`. Times are
time.monotonic() (CLOCK_MONOTONIC: one clock for every process of the machine)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.livestats import Attempt, Write, assistant_summary, fanout_summary, write_schedule
from bench.livewire import ChunkedDecoder, Head, SseParser, WireError, parse_head

_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
OPEN_CONCURRENCY = 64  # connection attempts in flight at once while opening subscribers
HEAD_TIMEOUT = 30.0  # a stream that sends nothing for this long after the request has failed


def rss_mib(pids: list[int]) -> float:
    """The largest RSS among `pids` (the server's workers; one, in these scenarios)."""
    sizes = []
    for pid in pids:
        with contextlib.suppress(OSError):
            sizes.append(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_KB / 1024)
    return max(sizes) if sizes else 0.0


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ------------------------------------------------------------------------ one connection


class Listener:
    """What an HttpStream tells about the response it is reading."""

    def on_head(self, head: Head) -> None: ...
    def on_body(self, data: bytes, now: float) -> None: ...
    def on_end(self, now: float) -> None: ...
    def on_close(self, error: str | None) -> None: ...


class HttpStream(asyncio.Protocol):
    """One HTTP/1.1 connection, one response at a time (sequential requests reuse it)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.listener: Listener = Listener()
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self._head_buffer = b""
        self.head: Head | None = None
        self._chunked: ChunkedDecoder | None = None
        self._left: int | None = None  # bytes of a Content-Length body still to come

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, listener: Listener) -> None:
        self._reset()
        self.listener = listener
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        try:
            if self.head is None:
                self._head_buffer += data
                end = self._head_buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                self.head = parse_head(self._head_buffer[:end])
                data = self._head_buffer[end + 4 :]
                self._head_buffer = b""
                if self.head.chunked:
                    self._chunked = ChunkedDecoder()
                else:
                    self._left = self.head.content_length
                self.listener.on_head(self.head)
                if self._left == 0:
                    self._finish(now)
                    return
            if self._chunked is not None:
                body = self._chunked.feed(data)
                if body:
                    self.listener.on_body(body, now)
                if self._chunked.done:
                    self._finish(now)
            elif self._left is not None:
                body = data[: self._left]
                self._left -= len(body)
                if body:
                    self.listener.on_body(body, now)
                if self._left == 0:
                    self._finish(now)
            elif data:
                self.listener.on_body(data, now)  # until the server closes
        except WireError as exc:
            self.listener.on_close(f"wire: {exc}")
            self.abort()

    def _finish(self, now: float) -> None:
        listener, self.listener = self.listener, Listener()
        listener.on_end(now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head is not None and self._chunked is None and self._left is None:
            self._finish(time.monotonic())  # a body delimited by the end of the connection
        else:
            self.listener.on_close(type(exc).__name__ if exc else "closed")

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def request_bytes(
    method: str, url: str, path: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    host = urlsplit(url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def connect(url: str) -> HttpStream:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(HttpStream, parts.hostname, parts.port)
    return protocol


# ------------------------------------------------------------------------ subscribers


class Subscriber(Listener):
    """One event stream: its answer, then (seq, receipt time) of every activity event."""

    def __init__(self, seq_targets: dict[int, str], seq_created: dict[int, float]) -> None:
        self.seq_targets = seq_targets
        self.seq_created = seq_created
        self.parser = SseParser()
        self.events: list[tuple[int, float]] = []
        self.status: int | None = None
        self.retry_after: str | None = None
        self.ready = asyncio.get_running_loop().create_future()  # the first frame, or refusal
        self.error: str | None = None
        self.ended = False
        self.stream: HttpStream | None = None

    def on_head(self, head: Head) -> None:
        self.status = head.status
        self.retry_after = head.headers.get("retry-after")
        if head.status != 200 and not self.ready.done():
            self.ready.set_result(False)

    def on_body(self, data: bytes, now: float) -> None:
        if self.status != 200:
            return
        for frame in self.parser.feed(data):
            if frame.id is not None and frame.event == "activity":
                seq = int(frame.id)
                self.events.append((seq, now))
                if seq not in self.seq_targets and frame.data:
                    activity = json.loads(frame.data)
                    self.seq_targets[seq] = activity.get("target_id", "")
                    with contextlib.suppress(TypeError, ValueError):
                        self.seq_created[seq] = datetime.fromisoformat(
                            activity["created_at"]
                        ).timestamp()
            if not self.ready.done():
                self.ready.set_result(True)  # the heartbeat sent once the subscription is on

    def on_end(self, now: float) -> None:
        self.ended = True
        if not self.ready.done():
            self.ready.set_result(False)

    def on_close(self, error: str | None) -> None:
        self.ended = True
        self.error = self.error or error
        if not self.ready.done():
            self.ready.set_result(False)


class Subscribers:
    def __init__(self, config: dict[str, Any]) -> None:
        self.url: str = config["url"]
        self.request = request_bytes(
            "GET",
            self.url,
            config["path"],
            {"Authorization": f"Bearer {config['token']}", "Accept": "text/event-stream"},
        )
        self.pids: list[int] = config.get("pids", [])
        self.seq_targets: dict[int, str] = {}
        self.seq_created: dict[int, float] = {}
        self.held: list[Subscriber] = []

    async def _one(self) -> Subscriber:
        subscriber = Subscriber(self.seq_targets, self.seq_created)
        try:
            stream = await connect(self.url)
        except OSError as exc:
            subscriber.on_close(type(exc).__name__)
            return subscriber
        subscriber.stream = stream
        stream.send(self.request, subscriber)
        try:
            await asyncio.wait_for(asyncio.shield(subscriber.ready), HEAD_TIMEOUT)
        except TimeoutError:
            subscriber.error = "timeout"
        if not subscriber.ready.done() or not subscriber.ready.result():
            stream.abort()
        return subscriber

    async def _open(self, count: int, *, stop_at_refusal: bool) -> dict[str, Any]:
        """Open streams until `count` more are held (or, ramping, until the first refusal)."""
        target = len(self.held) + count
        refused = failed = 0
        refusal: dict[str, Any] | None = None
        errors: dict[str, int] = {}
        while len(self.held) < target:
            batch = min(OPEN_CONCURRENCY, target - len(self.held))
            results = await asyncio.gather(*(self._one() for _ in range(batch)))
            for subscriber in results:
                if subscriber.status == 200 and subscriber.ready.result() is True:
                    self.held.append(subscriber)
                elif subscriber.status is not None and subscriber.status != 200:
                    refused += 1
                    if refusal is None:
                        refusal = {
                            "status": subscriber.status,
                            "retry_after": subscriber.retry_after,
                        }
                else:
                    failed += 1
                    key = subscriber.error or "no answer"
                    errors[key] = errors.get(key, 0) + 1
            if refused and stop_at_refusal:
                break
            if refused or failed:
                return {"refused": refused, "failed": failed, "refusal": refusal, "errors": errors}
        return {"refused": refused, "failed": failed, "refusal": refusal, "errors": errors}

    async def open(self, count: int, retry_seconds: float) -> dict[str, Any]:
        """Hold `count` streams, retrying refusals for up to `retry_seconds` (a sync worker
        notices that the previous point's clients have gone only when it next writes)."""
        started = time.monotonic()
        totals = {"refused": 0, "failed": 0, "errors": {}}
        while True:
            outcome = await self._open(count - len(self.held), stop_at_refusal=False)
            totals["refused"] += outcome["refused"]
            totals["failed"] += outcome["failed"]
            for key, n in outcome["errors"].items():
                totals["errors"][key] = totals["errors"].get(key, 0) + n
            if len(self.held) >= count or time.monotonic() - started > retry_seconds:
                break
            await asyncio.sleep(0.5)
        return {"held": len(self.held), "seconds": round(time.monotonic() - started, 2), **totals}

    async def ramp(self, limit: int, checkpoints: list[int]) -> dict[str, Any]:
        """Open streams until the server refuses one (its ceiling) or `limit` are held;
        the server's RSS before any and at each checkpoint reached."""
        baseline = rss_mib(self.pids)
        samples: list[tuple[int, float]] = []
        outcome: dict[str, Any] = {"refused": 0, "failed": 0, "refusal": None, "errors": {}}
        started = time.monotonic()
        for mark in [*sorted(c for c in checkpoints if c < limit), limit]:
            outcome = await self._open(mark - len(self.held), stop_at_refusal=True)
            if outcome["refused"] or outcome["failed"]:
                break
            await asyncio.sleep(0.5)  # let the server settle before reading its RSS
            samples.append((len(self.held), rss_mib(self.pids)))
        await asyncio.sleep(0.5)
        alive = sum(1 for s in self.held if not s.ended)
        samples.append((len(self.held), rss_mib(self.pids)))
        return {
            "ceiling": len(self.held) if outcome["refused"] else None,
            "held": len(self.held),
            "still_open": alive,
            "limit": limit,
            "refusal": outcome["refusal"],
            "failed": outcome["failed"],
            "errors": outcome["errors"],
            "rss_baseline_mib": round(baseline, 1),
            "rss_mib": [[count, round(rss, 1)] for count, rss in samples],
            "seconds": round(time.monotonic() - started, 2),
        }

    async def drain(self, writes_file: str, timeout: float, stall: float) -> dict[str, Any]:
        """Wait until every held subscriber has every written change — or until nothing has
        arrived for `stall` seconds (what is missing then is lost), or `timeout` (what is
        missing then was still on its way: late, not necessarily lost) — then the figures."""
        writes = [Write(**w) for w in json.loads(Path(writes_file).read_text())]
        expected = {w.target_id for w in writes}
        started = last_progress = time.monotonic()
        received = -1

        def complete() -> bool:
            if sum(len(s.events) for s in self.held) < len(expected) * len(self.held):
                return False
            return all(
                expected <= {self.seq_targets.get(seq) for seq, _ in s.events} for s in self.held
            )

        end = "complete"
        while not complete():
            now = time.monotonic()
            total = sum(len(s.events) for s in self.held)
            if total != received:
                received, last_progress = total, now
            if now - last_progress > stall:
                end = "stalled"
                break
            if now - started > timeout:
                end = "timeout"
                break
            await asyncio.sleep(0.2)
        summary = fanout_summary(
            writes,
            [s.events for s in self.held],
            self.seq_targets,
            self.seq_created,
            time.time() - time.monotonic(),
        )
        summary["drain_s"] = round(time.monotonic() - started, 2)
        summary["drain_end"] = end
        summary["streams_ended"] = sum(1 for s in self.held if s.ended)
        summary["rss_mib"] = round(rss_mib(self.pids), 1)
        return summary

    def close(self) -> dict[str, Any]:
        count = len(self.held)
        for subscriber in self.held:
            if subscriber.stream is not None:
                subscriber.stream.abort()
        self.held = []
        self.seq_targets.clear()
        self.seq_created.clear()
        return {"closed": count}


async def subscribe_main(config: dict[str, Any]) -> None:
    subscribers = Subscribers(config)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        kind = command["cmd"]
        if kind == "open":
            answer = await subscribers.open(command["count"], command.get("retry_seconds", 0))
        elif kind == "ramp":
            answer = await subscribers.ramp(command["limit"], command.get("checkpoints", []))
        elif kind == "drain":
            answer = await subscribers.drain(
                command["writes_file"], command["timeout"], command["stall"]
            )
        elif kind == "close":
            answer = subscribers.close()
        elif kind == "exit":
            subscribers.close()
            break
        else:
            answer = {"error": f"unknown command {kind}"}
        print(json.dumps(answer), flush=True)


# ------------------------------------------------------------------------ the writer


# A change as createTask commits it, less the API: the task, then (after the activity lock,
# migration 0006) its `task.created` entry, whose statement trigger wakes every server's hub.
WRITE_SQL = """
WITH task AS (
    INSERT INTO tasks (project_id, title, created_by) VALUES (%(project)s, %(title)s, %(actor)s)
    RETURNING id
), locked AS (
    SELECT activity_lock(%(project)s)
)
INSERT INTO activity (project_id, actor_id, verb, target_type, target_id)
SELECT %(project)s, %(actor)s, 'task.created', 'task', task.id FROM task, locked
RETURNING target_id
"""


async def writer_main(config: dict[str, Any]) -> None:
    """Commit a change every 1/rate s straight to PostgreSQL (open loop; up to `connections`
    transactions in flight); print the writes as JSON. The worker under test learns of them as
    of any other process's commit: through LISTEN/NOTIFY, its only work being the fan-out."""
    from psycopg import AsyncConnection, Error

    schedule = write_schedule(config["rate"], config["seconds"])
    connections = [
        await AsyncConnection.connect(config["database_url"], autocommit=False)
        for _ in range(config.get("connections", 4))
    ]
    idle: asyncio.Queue[Any] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    writes: list[dict[str, Any]] = []
    failures: dict[str, int] = {}

    async def one(index: int) -> None:
        parameters = {
            "project": config["project_id"],
            "actor": config["actor_id"],
            "title": f"{config['title_prefix']} {index:06d}",
        }
        connection = await idle.get()
        try:
            sent = time.monotonic()
            async with connection.transaction():
                row = await (await connection.execute(WRITE_SQL, parameters)).fetchone()
            committed = time.monotonic()  # COMMIT has returned: the change is visible
            writes.append(asdict(Write(str(row[0]), sent, committed)))
        except Error as exc:  # counted, as a failed request is
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
        finally:
            idle.put_nowait(connection)

    started = time.monotonic()
    tasks = []
    for at in schedule:
        delay = started + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(len(tasks))))
    _, pending = await asyncio.wait(tasks, timeout=config.get("grace", 30.0))
    for task in pending:
        task.cancel()
    if pending:
        failures["unanswered"] = len(pending)
    elapsed = time.monotonic() - started
    for connection in connections:
        await connection.close()
    print(
        json.dumps(
            {
                "writes": writes,
                "failures": failures,
                "seconds": round(elapsed, 3),
                "rate": round(len(writes) / elapsed, 2) if elapsed else None,
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------------------ assistant


class AssistantAnswer(Listener):
    """One answer being read: the contract's `token`/`done`/`error` events, or (`openai`) the
    upstream's own chunks, read straight from the fake for the reference figures."""

    def __init__(self, sent: float, openai: bool = False) -> None:
        self.sent = sent
        self.openai = openai
        self.parser = SseParser()
        self.status: int | None = None
        self.retry_after: float | None = None
        self.retry_after_header: str | None = None
        self.first_token: float | None = None
        self.done = False
        self.error: str | None = None
        self.keep_alive = True
        self.finished = asyncio.get_running_loop().create_future()

    def on_head(self, head: Head) -> None:
        self.status = head.status
        self.keep_alive = head.headers.get("connection", "").lower() != "close"
        if head.status != 200:
            self.retry_after_header = head.headers.get("retry-after")
            with contextlib.suppress(ValueError):
                self.retry_after = float(head.headers.get("retry-after", "1"))
            if head.status != 503:
                self.error = f"http-{head.status}"

    def on_body(self, data: bytes, now: float) -> None:
        if self.status != 200:
            return
        for frame in self.parser.feed(data):
            if self.openai:
                if frame.data == "[DONE]":
                    self.done = True
                elif self.first_token is None and _has_content(frame.data):
                    self.first_token = now
                continue
            if frame.event == "token" and self.first_token is None:
                self.first_token = now
            elif frame.event == "done":
                self.done = True
            elif frame.event == "error":
                status = ""
                with contextlib.suppress(ValueError, AttributeError):
                    status = str(json.loads(frame.data or "{}").get("status", ""))
                self.error = f"stream-error-{status or '?'}"

    def on_end(self, now: float) -> None:
        if self.status == 200 and not self.done and self.error is None:
            self.error = "truncated"
        if not self.finished.done():
            self.finished.set_result(now)

    def on_close(self, error: str | None) -> None:
        self.keep_alive = False
        if self.error is None:
            self.error = "connection" if self.status is None else "truncated"
        if not self.finished.done():
            self.finished.set_result(None)

    def attempt(self, ended: float | None) -> Attempt:
        return Attempt(
            self.sent, self.status, self.first_token, ended, self.error, self.retry_after_header
        )


def _has_content(data: str | None) -> bool:
    if not data or '"content"' not in data:
        return False
    with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
        return bool(json.loads(data)["choices"][0]["delta"].get("content"))
    return False


MAX_ASSISTANT_SECONDS = 120.0  # warm-up and window together, at most


async def assistant_window(
    attempts: list[Attempt], started: float, config: dict[str, Any]
) -> tuple[float, float]:
    """The measured window. Clients all start at once, and a server slower than the clients
    ask makes every answer slow alike (1,000 clients at 80 answers/s: 12 s each), so a fixed
    warm-up may end before any answer has: the window opens once `warmup` has passed and the
    first answers have come (a tenth of the clients, at most 20), and lasts `seconds` or twice
    the answer time seen by then, whichever is longer (within MAX_ASSISTANT_SECONDS)."""
    wanted = min(20, max(1, config["concurrency"] // 10))
    limit = started + MAX_ASSISTANT_SECONDS / 2
    while True:
        now = time.monotonic()
        done = [a for a in attempts if a.status == 200 and a.ended is not None]
        if (now >= started + config["warmup"] and len(done) >= wanted) or now >= limit:
            break
        await asyncio.sleep(0.1)
    times = sorted(a.ended - a.sent for a in done if a.ended is not None)
    typical = times[len(times) // 2] if times else 0.0
    length = max(config["seconds"], 2 * typical)
    return now, min(now + length, started + MAX_ASSISTANT_SECONDS)


async def assistant_main(config: dict[str, Any]) -> None:
    """`concurrency` clients, each asking, reading the whole answer and asking again, from
    the start until the end of the window (warm-up, then `seconds`); a refused client waits
    the Retry-After the server sent, as a well-behaved client does."""
    url, concurrency = config["url"], config["concurrency"]
    headers = {
        "Authorization": f"Bearer {config['token']}",
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
    }
    started = time.monotonic()
    # Until the window is known, clients run on; the end is settled after the warm-up.
    window = [started + config["warmup"], started + MAX_ASSISTANT_SECONDS]
    attempts: list[Attempt] = []
    waiting: dict[int, float] = {}  # client → when its request in flight was sent
    peak_rss = 0.0
    pids = config.get("pids", [])

    openai = bool(config.get("openai"))

    async def client(number: int) -> None:
        question = f"What should the team do next? (client {number})"
        document: dict[str, Any] = {"question": question, "stream": True}
        if openai:  # the upstream itself, as the relays call it
            document = {
                "model": "quartet-fake",
                "stream": True,
                "messages": [{"role": "user", "content": question}],
            }
        body = json.dumps(document).encode()
        request = request_bytes("POST", url, config["path"], headers, body)
        stream: HttpStream | None = None
        while time.monotonic() < window[1]:
            if stream is None or stream.closed:
                try:
                    stream = await connect(url)
                except OSError as exc:
                    attempts.append(Attempt(time.monotonic(), None, None, None, type(exc).__name__))
                    await asyncio.sleep(0.1)
                    continue
            answer = AssistantAnswer(time.monotonic(), openai)
            waiting[number] = answer.sent
            stream.send(request, answer)
            try:
                ended = await asyncio.wait_for(asyncio.shield(answer.finished), config["timeout"])
            except TimeoutError:
                answer.error = "timeout"
                ended = None
            attempts.append(answer.attempt(ended))
            del waiting[number]
            if answer.error is not None or not answer.keep_alive or ended is None:
                stream.abort()
                stream = None
            if answer.status == 503:
                pause = min(answer.retry_after or 1.0, max(0.0, window[1] - time.monotonic()))
                await asyncio.sleep(pause)

    async def sample_rss() -> None:
        nonlocal peak_rss
        while True:
            peak_rss = max(peak_rss, rss_mib(pids))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample_rss())
    clients = [asyncio.create_task(client(n)) for n in range(concurrency)]
    window[0], window[1] = await assistant_window(attempts, started, config)
    await asyncio.sleep(max(0.0, window[1] - time.monotonic()))
    end = time.monotonic()
    # Requests still unanswered at the end, and for how long: a server past its capacity
    # should refuse (503) promptly, not leave clients waiting for ever.
    unanswered = sorted(end - sent for sent in waiting.values())
    for task in clients:
        task.cancel()  # what is in flight at the end of the window is not counted
    await asyncio.gather(*clients, return_exceptions=True)
    sampler.cancel()
    summary = assistant_summary(
        attempts,
        window=(window[0], window[1]),
        concurrency=concurrency,
        answer_seconds=config["answer_seconds"],
    )
    summary["rss_peak_mib"] = round(peak_rss, 1)
    summary["unanswered_at_end"] = len(unanswered)
    summary["unanswered_over_5s"] = sum(1 for wait in unanswered if wait > 5)
    summary["longest_wait_s"] = round(unanswered[-1], 2) if unanswered else 0.0
    summary["warmup_s"] = round(window[0] - started, 2)
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    print(json.dumps(summary), flush=True)


def main(argv: list[str]) -> int:
    kind, config = argv[0], json.loads(argv[1])
    raise_fd_limit()
    runner = {"subscribe": subscribe_main, "writer": writer_main, "assistant": assistant_main}
    try:
        import uvloop

        uvloop.run(runner[kind](config))
    except ImportError:
        asyncio.run(runner[kind](config))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
