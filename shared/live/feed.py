"""A project's recent events in one server process, shared by the process's subscribers of that
project: on a wake-up one of them reads `seq > high_water` once for all (instead of one read
each), and every subscriber takes what it has not sent yet. A subscriber further behind than
the buffer (resuming from an old id) reads the table itself until it has caught up.

Pure bookkeeping, no I/O and no locks: the asyncio and thread hubs (shared.live.hub_async,
shared.live.hub_threads) call it under their own locks. The database stays the truth: the
buffer only ever holds rows read from it, in `seq` order, and is dropped with its last
subscriber."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Sequence

from shared.live.stream import FEED_BUFFER, READ_BATCH, ActivityEvent


class Feed:
    def __init__(self, project_id: uuid.UUID, head: int) -> None:
        self.project_id = project_id
        # The buffer holds every entry of the project with known_from < seq <= high_water.
        self.known_from = head
        self.high_water = head
        self._events: list[ActivityEvent] = []
        self._seqs: list[int] = []
        # Wake-ups received vs. wake-ups a read has started after: stale while read < wanted.
        self._wanted = 0
        self._read = 0

    # ------------------------------------------------------------------ wake-ups and reads

    def wake(self) -> None:
        """Something may have been committed: the next subscriber to look reads the table."""
        self._wanted += 1

    @property
    def stale(self) -> bool:
        return self._read < self._wanted

    def begin_read(self) -> int:
        """A read starts (the caller holds the feed's read lock): read `seq >` this. Wake-ups
        from now on need another read."""
        self._read = self._wanted
        return self.high_water

    def add(self, events: Sequence[ActivityEvent]) -> None:
        """What the read found, in `seq` order. A full batch may not be all: stay stale."""
        for event in events:
            if event.seq > self.high_water:
                self._events.append(event)
                self._seqs.append(event.seq)
                self.high_water = event.seq
        if len(events) >= READ_BATCH:
            self._wanted += 1
        overflow = len(self._events) - FEED_BUFFER
        if overflow > 0:
            self.known_from = self._seqs[overflow - 1]
            del self._events[:overflow], self._seqs[:overflow]

    # ------------------------------------------------------------------ serving

    def covers(self, last_sent: int) -> bool:
        """Whether a subscriber that has sent up to `last_sent` can be served from the buffer."""
        return last_sent >= self.known_from

    def after(self, last_sent: int) -> list[ActivityEvent]:
        """Buffered events after `last_sent`, at most a batch (the caller checked `covers`)."""
        start = bisect.bisect_right(self._seqs, last_sent)
        return self._events[start : start + READ_BATCH]

    def ahead_of(self, last_sent: int) -> bool:
        """Whether a subscriber at `last_sent` has more to take without waiting for a wake-up."""
        return self.stale or self.high_water > last_sent
