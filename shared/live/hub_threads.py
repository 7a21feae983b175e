"""The event stream's fan-out for thread servers (Flask and DRF under gunicorn's gthread
worker): one `ThreadHub` per server process, its listener a daemon thread.

The same design as shared.live.hub_async, in threads: a dedicated psycopg 3 autocommit
connection LISTENs; `conn.notifies(timeout=...)` (which holds that connection's lock, hence a
connection of its own) wakes the subscribers of the notified project — a `threading.Event`
each, bounded and never blocking the listener; a woken subscriber re-reads `seq > last_sent`
through its project's feed on a dedicated reader connection, in its own (request) thread.
Reconnects with backoff, waking every subscriber on each (re)connect; a `SELECT 1` between
waits proves the connection alive.

The thread starts with the first subscription, in the process that subscribes: gunicorn forks
its workers from a master that must not own it (a thread does not survive a fork), and a hub
that finds itself in a child of the process that started it starts afresh."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from shared.dedicated import LIVENESS_SECONDS, Backoff, psycopg_connection
from shared.live.registry import HubBase, Registry, SubscriptionBase
from shared.live.stream import (
    ACTIVITY_CHANNEL,
    HEAD_SQL,
    HEARTBEAT,
    HEARTBEAT_SECONDS,
    LISTENER_APPLICATION_NAME,
    READ_BATCH,
    READER_APPLICATION_NAME,
    SINCE_SQL,
    ActivityEvent,
    activity_event,
)

log = logging.getLogger("quartet.live")

STOP_POLL_SECONDS = 1.0
# How often a quiet stream asks whether its client has gone (frames(client_gone=...)): a gone
# client's thread and long-call slot come back within about this long.
CLIENT_GONE_POLL_SECONDS = 0.5


class ThreadHub(HubBase):
    def __init__(self, database_url: str, *, max_streams: int) -> None:
        """`max_streams`: streams this process serves at once — each holds a server thread, so
        fewer than the threads, or ordinary requests would wait for a free one."""
        self.database_url = database_url
        self._max_streams = max_streams
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()  # the registry and the read locks
        self._registry = Registry(self._max_streams)
        self._read_locks: dict[uuid.UUID, threading.Lock] = {}
        self._reader: Any = None
        self._reader_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.connected = threading.Event()  # the listener is listening now
        self.connects = 0  # listener (re)connections so far

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the listener thread (idempotent; also done by the first `subscribe`)."""
        with self._lock:
            if self._pid != os.getpid():  # forked after starting: the thread stayed behind
                self._reset()
            if self._thread is None and not self._registry.closed:
                self._thread = threading.Thread(
                    target=self._listen, name="quartet-live-listener", daemon=True
                )
                self._thread.start()

    def close(self, timeout: float = STOP_POLL_SECONDS + 1) -> None:
        """Stop listening and end every subscription (their `receive` returns None)."""
        with self._lock:
            self._registry.closed = True
            subscriptions = self._registry.all()
        self._stop.set()
        for subscription in subscriptions:
            subscription.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # ------------------------------------------------------------------ subscribing

    def subscribe(
        self,
        project_id: uuid.UUID,
        last_event_id: int | None = None,
        *,
        viewer: uuid.UUID | None = None,
        expires_at: float | None = None,
    ) -> ThreadSubscription:
        """A subscription to the project's activity after `last_event_id` (None: after its
        newest entry now). The caller has checked that its user, `viewer`, may see the project;
        the subscription ends after that user's removal, and when the caller's token expires
        (`expires_at`: its `exp`, epoch seconds). Raises StreamsFull past `max_streams` (answer
        503 with Retry-After); database errors as they come (shared.dberrors tells which are a
        503)."""
        self.start()
        with self._lock:
            self._registry.admit()
        try:
            head = self._head(project_id)
        except BaseException:
            with self._lock:
                self._registry.withdraw()
            raise
        start = head if last_event_id is None else last_event_id
        subscription = ThreadSubscription(
            self, project_id, start, viewer=viewer, expires_at=expires_at
        )
        with self._lock:
            self._registry.add(subscription, head)
            self._read_locks.setdefault(project_id, threading.Lock())
        return subscription

    def _unsubscribe(self, subscription: ThreadSubscription) -> None:
        with self._lock:
            if (
                self._registry.remove(subscription)
                and subscription.project_id not in self._registry.feeds
            ):
                self._read_locks.pop(subscription.project_id, None)

    # ------------------------------------------------------------------ listening

    def _listen(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                with psycopg_connection(self.database_url, LISTENER_APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {ACTIVITY_CHANNEL}")
                    self.connects += 1
                    self.connected.set()
                    backoff.reset()
                    with self._lock:
                        self._registry.wake_all()  # what was committed while nobody listened
                    proven = time.monotonic()
                    while not self._stop.is_set():
                        # Short waits, so that close() is heard within a second.
                        for notification in conn.notifies(timeout=STOP_POLL_SECONDS):
                            with self._lock:
                                self._registry.notified(notification.payload)
                            proven = time.monotonic()
                        if time.monotonic() - proven >= LIVENESS_SECONDS:
                            conn.execute("SELECT 1")  # a quiet spell: is the connection alive?
                            proven = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - whatever broke it: reconnect, never give up
                if not self._stop.is_set():
                    log.warning("live listener: %s: %s; reconnecting", type(exc).__name__, exc)
            finally:
                self.connected.clear()
            self._stop.wait(backoff.next())

    # ------------------------------------------------------------------ reading

    def _fetch(self, sql: str, *args: Any) -> list[Any]:
        """One statement on the reader connection, opened (again) when needed; a statement that
        failed because the connection was lost is tried once more on a new one."""
        with self._reader_lock:
            for attempt in (1, 2):
                if self._reader is None or self._reader.closed:
                    self._reader = psycopg_connection(self.database_url, READER_APPLICATION_NAME)
                try:
                    return self._reader.execute(sql, args).fetchall()
                except Exception as exc:
                    if attempt == 2 or not self._reader.closed:
                        raise
                    log.warning("live reader: %s; reconnecting", type(exc).__name__)
        raise AssertionError("unreachable")

    def _head(self, project_id: uuid.UUID) -> int:
        return int(self._fetch(HEAD_SQL["psycopg"], project_id)[0][0])

    def _since(self, project_id: uuid.UUID, after: int) -> list[ActivityEvent]:
        rows = self._fetch(SINCE_SQL["psycopg"], project_id, after, READ_BATCH)
        return [activity_event(row) for row in rows]

    def _next_events(self, project_id: uuid.UUID, last_sent: int) -> list[ActivityEvent]:
        with self._lock:
            feed = self._registry.feeds[project_id]
            read_lock = self._read_locks[project_id]
        with read_lock:  # one read per wake-up for the process's subscribers of the project
            with self._lock:
                after = feed.begin_read() if feed.stale else None
            if after is not None:
                events = self._since(project_id, after)
                with self._lock:
                    feed.add(events)
        with self._lock:
            if feed.covers(last_sent):
                return feed.after(last_sent)
        return self._since(project_id, last_sent)  # behind the buffer: read it ourselves

    def _more_for(self, project_id: uuid.UUID, last_sent: int) -> bool:
        with self._lock:
            feed = self._registry.feeds.get(project_id)
            return feed is not None and feed.ahead_of(last_sent)


class ThreadSubscription(SubscriptionBase):
    """One stream's view of its project: `receive` until it returns None; `close` when the
    response ends, however it ends (or use `with`, or `frames()`)."""

    hub: ThreadHub
    flag_type = threading.Event

    def receive(self, timeout: float = HEARTBEAT_SECONDS) -> list[ActivityEvent] | None:
        """The next events in `seq` order (at most a batch), as soon as there are any; `[]` when
        `timeout` passed without any (send a heartbeat); None when the hub is closing, the
        subscription was closed, the token has expired, or after the batch that ended with the
        viewer's removal (end the stream)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.ended:
                return None
            if not self._flag.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._flag.wait(self._wait_for(remaining))
                continue
            self._flag.clear()  # before reading: a wake-up during the read is not lost
            events = self._until_removed(self.hub._next_events(self.project_id, self.last_sent))
            if events:
                self.last_sent = events[-1].seq
            if len(events) >= READ_BATCH or self.hub._more_for(self.project_id, self.last_sent):
                self._flag.set()  # more to take without waiting
            if events:
                return events

    def __enter__(self) -> ThreadSubscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def frames(
        self,
        heartbeat: float = HEARTBEAT_SECONDS,
        client_gone: Callable[[], bool] | None = None,
    ) -> Iterator[str]:
        """The stream as SSE text: the frames of each wake-up's events in one chunk, and a
        heartbeat comment after `heartbeat` seconds without an event; ends when `receive` does
        (the hub closes, the token expires, the viewer's removal was sent), or — asked at least
        every CLIENT_GONE_POLL_SECONDS while the stream is quiet — when `client_gone()` says so
        (shared.live.long_calls.client_gone). Closes the subscription however the iteration
        ends. Without `client_gone`, a WSGI server notices a gone client only when a write fails
        (hence heartbeats of real bytes), and the first write after it left usually succeeds:
        up to two heartbeats."""
        step = heartbeat if client_gone is None else min(heartbeat, CLIENT_GONE_POLL_SECONDS)
        try:
            quiet_since = time.monotonic()
            while True:
                until_heartbeat = quiet_since + heartbeat - time.monotonic()
                events = self.receive(max(0.0, min(step, until_heartbeat)))
                if events is None:
                    return
                if events:
                    yield "".join(event.frame() for event in events)  # one write per wake-up
                    quiet_since = time.monotonic()
                    continue
                if client_gone is not None and client_gone():
                    return  # the server finishes the response and closes the connection
                if time.monotonic() - quiet_since >= heartbeat:
                    yield HEARTBEAT
                    quiet_since = time.monotonic()
        finally:
            self.close()
