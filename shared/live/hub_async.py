"""The event stream's fan-out for asyncio servers (FastAPI, Litestar, and Django under ASGI):
one `AsyncHub` per server process and event loop.

One dedicated listener connection (`asyncpg.connect()`, not pooled: a pool runs `UNLISTEN *`
when a connection goes back) LISTENs on the activity channel. A notification marks its
project's feed stale and sets the wake-up of each of the process's subscribers of that project —
an `asyncio.Event` each: bounded (a flag, not a queue) and never blocking the listener. A
woken subscriber re-reads `seq > last_sent` (through its project's feed: one read for all of
them, on a dedicated reader connection). When the listener connection is lost it reconnects
with backoff, and on every (re)connect wakes every subscriber, so whatever was committed while
nobody listened is read from the table: no event is lost, none sent twice. A periodic
`SELECT 1` notices a connection cut without a word.

Nothing here is shared between processes: each has its own hub, the database is the truth."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from shared.dedicated import LIVENESS_SECONDS, Backoff, asyncpg_connection
from shared.live.registry import HubBase, Registry, SubscriptionBase
from shared.live.stream import (
    ACTIVITY_CHANNEL,
    HEAD_SQL,
    HEARTBEAT,
    HEARTBEAT_SECONDS,
    LISTENER_APPLICATION_NAME,
    MAX_ASYNC_STREAMS,
    READ_BATCH,
    READER_APPLICATION_NAME,
    SINCE_SQL,
    ActivityEvent,
    activity_event,
)

log = logging.getLogger("quartet.live")


class AsyncHub(HubBase):
    def __init__(self, database_url: str, *, max_streams: int = MAX_ASYNC_STREAMS) -> None:
        self.database_url = database_url
        self._registry = Registry(max_streams)
        self._listener_task: asyncio.Task[None] | None = None
        self._reader: Any = None
        self._reader_lock = asyncio.Lock()
        self._read_locks: dict[uuid.UUID, asyncio.Lock] = {}
        self.connected = asyncio.Event()  # the listener is listening now
        self.connects = 0  # listener (re)connections so far

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start listening (idempotent; also done by the first `subscribe`). Call it in the
        server's event loop — a lifespan/startup hook, or lazily where there is none."""
        if self._listener_task is None and not self._registry.closed:
            self._listener_task = asyncio.get_running_loop().create_task(
                self._listen(), name="quartet-live-listener"
            )

    def end_streams(self) -> None:
        """Admit no more streams (StreamsFull: 503) and end every subscription (their `receive`
        returns None, so their responses complete), at once: what a server's graceful stop runs
        (shared.live.long_calls.on_graceful_stop), in this hub's event loop, before it waits for
        its connections. `close` does it too, then stops listening."""
        self._registry.closed = True
        for subscription in self._registry.all():
            subscription.wake()

    async def close(self) -> None:
        """Stop listening and end every subscription (their `receive` returns None)."""
        self.end_streams()
        if self._listener_task is not None:
            self._listener_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener_task
        async with self._reader_lock:
            if self._reader is not None:
                await self._reader.close(timeout=2)
                self._reader = None

    # ------------------------------------------------------------------ subscribing

    async def subscribe(
        self,
        project_id: uuid.UUID,
        last_event_id: int | None = None,
        *,
        viewer: uuid.UUID | None = None,
        expires_at: float | None = None,
    ) -> AsyncSubscription:
        """A subscription to the project's activity after `last_event_id` (None: after its
        newest entry now). The caller has checked that its user, `viewer`, may see the project;
        the subscription ends after that user's removal, and when the caller's token expires
        (`expires_at`: its `exp`, epoch seconds). Raises StreamsFull past the cap (answer 503
        with Retry-After); database errors as they come (shared.dberrors tells which are a
        503)."""
        self._registry.admit()  # before the first await: concurrent callers see the count
        try:
            self.start()
            head = await self._head(project_id)
        except BaseException:
            self._registry.withdraw()
            raise
        start = head if last_event_id is None else last_event_id
        subscription = AsyncSubscription(
            self, project_id, start, viewer=viewer, expires_at=expires_at
        )
        self._registry.add(subscription, head)
        self._read_locks.setdefault(project_id, asyncio.Lock())
        return subscription

    def _unsubscribe(self, subscription: AsyncSubscription) -> None:
        if (
            self._registry.remove(subscription)
            and subscription.project_id not in self._registry.feeds
        ):
            self._read_locks.pop(subscription.project_id, None)

    # ------------------------------------------------------------------ listening

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._registry.notified(payload)

    async def _listen(self) -> None:
        backoff = Backoff()
        while not self._registry.closed:
            conn = None
            try:
                conn = await asyncpg_connection(self.database_url, LISTENER_APPLICATION_NAME)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(ACTIVITY_CHANNEL, self._on_notification)
                self.connects += 1
                self.connected.set()
                backoff.reset()
                self._registry.wake_all()  # what was committed while nobody listened
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), LIVENESS_SECONDS)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=LIVENESS_SECONDS)
                log.warning("the live listener's connection was lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever broke it: reconnect, never give up
                log.warning("live listener: %s: %s; reconnecting", type(exc).__name__, exc)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(backoff.next())

    # ------------------------------------------------------------------ reading

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        """One statement on the reader connection, opened (again) when needed; a statement that
        failed because the connection was lost is tried once more on a new one."""
        async with self._reader_lock:
            for attempt in (1, 2):
                if self._reader is None or self._reader.is_closed():
                    self._reader = await asyncpg_connection(
                        self.database_url, READER_APPLICATION_NAME
                    )
                try:
                    return await self._reader.fetch(sql, *args)
                except Exception as exc:
                    if attempt == 2 or not self._reader.is_closed():
                        raise
                    log.warning("live reader: %s; reconnecting", type(exc).__name__)
        raise AssertionError("unreachable")

    async def _head(self, project_id: uuid.UUID) -> int:
        rows = await self._fetch(HEAD_SQL["asyncpg"], project_id)
        return int(rows[0][0])

    async def _since(self, project_id: uuid.UUID, after: int) -> list[ActivityEvent]:
        rows = await self._fetch(SINCE_SQL["asyncpg"], project_id, after, READ_BATCH)
        return [activity_event(tuple(row)) for row in rows]

    async def _next_events(self, project_id: uuid.UUID, last_sent: int) -> list[ActivityEvent]:
        feed = self._registry.feeds[project_id]
        # Always through the lock, even when the feed is not stale: a read another subscriber
        # has begun (begin_read: no longer stale) may hold what woke us; wait for it to land in
        # the buffer. Looking at the buffer before it has would find nothing and wait for the
        # next wake-up, which for the last change never comes.
        async with self._read_locks[project_id]:
            if feed.stale:
                feed.add(await self._since(project_id, feed.begin_read()))
        if feed.covers(last_sent):
            return feed.after(last_sent)
        return await self._since(project_id, last_sent)  # behind the buffer: read it ourselves

    def _more_for(self, project_id: uuid.UUID, last_sent: int) -> bool:
        feed = self._registry.feeds.get(project_id)
        return feed is not None and feed.ahead_of(last_sent)


class AsyncSubscription(SubscriptionBase):
    """One stream's view of its project: `receive` until it returns None; `close` when the
    response ends, however it ends (or use `async with`, or `frames()`)."""

    hub: AsyncHub
    flag_type = asyncio.Event

    async def receive(self, timeout: float = HEARTBEAT_SECONDS) -> list[ActivityEvent] | None:
        """The next events in `seq` order (at most a batch), as soon as there are any; `[]` when
        `timeout` passed without any (send a heartbeat); None when the hub is closing, the
        subscription was closed, the token has expired, or after the batch that ended with the
        viewer's removal (end the stream)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.ended:
                return None
            if not self._flag.is_set():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flag.wait(), self._wait_for(remaining))
                continue
            self._flag.clear()  # before reading: a wake-up during the read is not lost
            events = self._until_removed(
                await self.hub._next_events(self.project_id, self.last_sent)
            )
            if events:
                self.last_sent = events[-1].seq
            if len(events) >= READ_BATCH or self.hub._more_for(self.project_id, self.last_sent):
                self._flag.set()  # more to take without waiting
            if events:
                return events

    async def __aenter__(self) -> AsyncSubscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()

    async def frames(self, heartbeat: float = HEARTBEAT_SECONDS) -> AsyncIterator[str]:
        """The stream as SSE text: the frames of each wake-up's events in one chunk, and a
        heartbeat comment after `heartbeat` seconds without an event; ends when `receive` does
        (the hub closes, the token expires, the viewer's removal was sent). Closes the
        subscription however the iteration ends (the server closes the generator when the
        client has gone)."""
        try:
            while (events := await self.receive(heartbeat)) is not None:
                # one write per wake-up; the Activity JSON was made once, by the hub
                yield "".join(event.frame() for event in events) if events else HEARTBEAT
        finally:
            self.close()
