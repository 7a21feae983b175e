"""Who in this process watches which project: the bookkeeping both hubs share (the asyncio hub
calls it from its event loop, the thread hub under its lock). A subscription is anything with a
`project_id` and a `wake()` that sets its flag without blocking."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from shared.live.feed import Feed
from shared.live.stream import ACTIVITY_CHANNEL, ActivityEvent, StreamsFull

log = logging.getLogger("quartet.live")


class Wakeable(Protocol):
    project_id: uuid.UUID

    def wake(self) -> None: ...


class Registry:
    def __init__(self, max_streams: int) -> None:
        self.max_streams = max_streams
        self.feeds: dict[uuid.UUID, Feed] = {}
        self._subscribers: dict[uuid.UUID, set[Wakeable]] = {}
        self.count = 0  # admitted streams, including those still being set up
        self.closed = False

    def admit(self) -> None:
        """Count a stream in, or refuse it (StreamsFull) past the cap or when closing."""
        if self.closed or self.count >= self.max_streams:
            raise StreamsFull
        self.count += 1

    def withdraw(self) -> None:
        """An admitted stream that never subscribed (its setup failed)."""
        self.count -= 1

    def add(self, subscription: Wakeable, head: int) -> Feed:
        """Register an admitted stream; its project's feed, created at `head` if new (stale from
        birth: what was committed between the head read and now, when no notification could
        reach it, is read on the first look)."""
        feed = self.feeds.get(subscription.project_id)
        if feed is None:
            feed = self.feeds[subscription.project_id] = Feed(subscription.project_id, head)
            feed.wake()
        self._subscribers.setdefault(subscription.project_id, set()).add(subscription)
        return feed

    def remove(self, subscription: Wakeable) -> bool:
        """Unregister (idempotent); the feed goes with its project's last subscriber. True when
        it was registered."""
        subscriptions = self._subscribers.get(subscription.project_id)
        if subscriptions is None or subscription not in subscriptions:
            return False
        subscriptions.discard(subscription)
        self.count -= 1
        if not subscriptions:
            del self._subscribers[subscription.project_id]
            del self.feeds[subscription.project_id]
        return True

    def wake(self, project_id: uuid.UUID) -> None:
        feed = self.feeds.get(project_id)
        if feed is None:
            return  # nobody in this process watches that project
        feed.wake()
        for subscription in self._subscribers[project_id]:
            subscription.wake()

    def wake_all(self) -> None:
        """After a (re)connect of the listener: whatever was committed while nobody listened."""
        for project_id in list(self.feeds):
            self.wake(project_id)

    def all(self) -> list[Wakeable]:
        return [s for subscriptions in self._subscribers.values() for s in subscriptions]

    def notified(self, payload: str) -> None:
        """A notification on the activity channel: its payload is the project id."""
        try:
            project_id = uuid.UUID(payload)
        except ValueError:
            log.warning("ignoring a malformed %s notification: %r", ACTIVITY_CHANNEL, payload)
            return
        self.wake(project_id)


class HubBase:
    """What both hubs answer the same way."""

    _registry: Registry

    @property
    def closed(self) -> bool:
        return self._registry.closed

    @property
    def streams(self) -> int:
        """Streams open in this process."""
        return self._registry.count

    @property
    def max_streams(self) -> int:
        return self._registry.max_streams

    def _unsubscribe(self, subscription: Wakeable) -> None:
        raise NotImplementedError


class SubscriptionBase:
    """A stream's place in its hub: where it is (`last_sent`) and its wake-up flag (an
    asyncio.Event or a threading.Event, set first: a resumed stream has a backlog).

    The stream also ends, with no query of its own, when its user's membership does — the
    project's `member.removed` entry naming `viewer` is among the entries it reads anyway — and
    when the token it was opened with expires (`expires_at`, epoch seconds): `receive` never
    waits past that moment. Both optional (None: neither ends it)."""

    # The wake-up flag's type: asyncio.Event or threading.Event, as the hub's runtime.
    flag_type: Callable[[], Any]

    def __init__(
        self,
        hub: HubBase,
        project_id: uuid.UUID,
        last_sent: int,
        *,
        viewer: uuid.UUID | None = None,
        expires_at: float | None = None,
    ) -> None:
        self.hub = hub
        self.project_id = project_id
        self.last_sent = last_sent
        self.viewer = viewer
        # On the monotonic clock, converted once: waits are measured on it, and the wall clock
        # may step.
        self.ends_at = None if expires_at is None else time.monotonic() + expires_at - time.time()
        self._flag = self.flag_type()
        self._flag.set()
        self._closed = False
        self._removed = False  # the viewer's removal was sent: nothing more

    def wake(self) -> None:
        self._flag.set()

    def close(self) -> None:
        """Idempotent; when the response ends, however it ends."""
        if not self._closed:
            self._closed = True
            self.hub._unsubscribe(self)

    @property
    def ended(self) -> bool:
        return (
            self._closed
            or self.hub.closed
            or self._removed
            or (self.ends_at is not None and time.monotonic() >= self.ends_at)
        )

    def _wait_for(self, seconds: float) -> float:
        """How long to wait for a wake-up at most: `seconds`, but not past the token's expiry
        (the stream ends at that moment, not at the next event or heartbeat)."""
        if self.ends_at is None:
            return seconds
        return max(0.0, min(seconds, self.ends_at - time.monotonic()))

    def _until_removed(self, events: list[ActivityEvent]) -> list[ActivityEvent]:
        """`events` up to and including the viewer's removal, if it is among them (the stream
        ends after sending it: what follows is no longer theirs to see)."""
        if self.viewer is not None:
            for i, event in enumerate(events):
                if event.removed_member == self.viewer:
                    self._removed = True
                    return events[: i + 1]
        return events
