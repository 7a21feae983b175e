"""The live part's foundation in shared/ (issue 16; notes/live-foundation.md), tested without any
implementation: migration 0006's wake-up trigger and per-project advisory lock, the stream's
wire format, and the two per-process hubs (asyncio over asyncpg, threads over psycopg) —
delivery, the re-read after a terminated listener connection, release on close, the cap.

Real PostgreSQL: a database of its own on the session's cluster. Not parametrized over the
implementations (it never starts a server)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import psycopg
import pytest

from shared.live import stream
from shared.live.hub_async import AsyncHub
from shared.live.hub_threads import CLIENT_GONE_POLL_SECONDS, ThreadHub
from shared.live.stream import (
    FEED_BUFFER,
    LISTENER_APPLICATION_NAME,
    READ_BATCH,
    ActivityEvent,
    InvalidLastEventId,
    StreamsFull,
    parse_last_event_id,
)
from shared.migrate import migrate
from support.loop import LoopThread
from support.servers import ServerPool

ARRIVAL_SECONDS = 1.0  # a change reaches a subscriber within this (the bound)


# ------------------------------------------------------------------------ database


@pytest.fixture(scope="module")
def database_url(_server_pool: ServerPool) -> str:
    url = _server_pool.cluster().create_database("quartet_live")
    migrate(url)
    return url


class Project:
    """A user and a project of their own, and a writer of activity entries the way every
    implementation must write them: activity_lock, then the INSERT, in one transaction."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        with psycopg.connect(database_url) as conn:
            self.actor_id = conn.execute(
                "INSERT INTO users (email, display_name, password_hash)"
                " VALUES (%s, 'Zoë \"Live\" Tester', 'x') RETURNING id",
                (f"live-{uuid.uuid4().hex[:10]}@example.com",),
            ).fetchone()[0]
            self.id = conn.execute(
                "INSERT INTO projects (name, created_by) VALUES ('live', %s) RETURNING id",
                (self.actor_id,),
            ).fetchone()[0]

    def write_entries(self, *entries: tuple[str, str, uuid.UUID]) -> list[int]:
        """Entries `(verb, target_type, target_id)` in one transaction (one wake-up, one read);
        their seqs."""
        with psycopg.connect(self.database_url) as conn:
            conn.execute("SELECT activity_lock(%s)", (self.id,))
            return [
                conn.execute(
                    "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING seq",
                    (self.id, self.actor_id, verb, target_type, target_id),
                ).fetchone()[0]
                for verb, target_type, target_id in entries
            ]

    def write(self, count: int = 1, changes: dict[str, Any] | None = None) -> list[int]:
        """`count` entries in one transaction; their seqs."""
        with psycopg.connect(self.database_url) as conn:
            conn.execute("SELECT activity_lock(%s)", (self.id,))
            rows = conn.execute(
                "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id, changes)"
                " SELECT %s, %s, 'task.updated', 'task', gen_random_uuid(), %s::jsonb"
                " FROM generate_series(1, %s) RETURNING seq",
                (self.id, self.actor_id, json.dumps(changes or {"title": ["a", "b"]}), count),
            ).fetchall()
        return sorted(row[0] for row in rows)


@pytest.fixture
def project(database_url: str) -> Project:
    return Project(database_url)


def expected_activity(database_url: str, seq: int) -> dict[str, Any]:
    """The Activity representation of an entry as the contract spells it, built here from the
    table (not through shared.live)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT a.id::text, a.project_id::text, u.id::text, u.email, u.display_name, a.verb,"
            " a.target_type, a.target_id::text, a.changes,"
            " to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            " FROM activity a JOIN users u ON u.id = a.actor_id WHERE a.seq = %s",
            (seq,),
        ).fetchone()
    keys = ["id", "project_id", "actor", "verb", "target_type", "target_id", "changes"]
    actor = {"id": row[2], "email": row[3], "display_name": row[4]}
    values = [row[0], row[1], actor, row[5], row[6], row[7], row[8]]
    return {**dict(zip(keys, values, strict=True)), "created_at": row[9]}


# ------------------------------------------------------------------------ the migration


def test_an_activity_insert_wakes_listeners_with_its_project_at_commit(
    database_url: str, project: Project
) -> None:
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {stream.ACTIVITY_CHANNEL}")
        with psycopg.connect(database_url) as conn:  # rolled back: nobody is woken
            conn.execute(
                "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id)"
                " VALUES (%s, %s, 'project.updated', 'project', %s)",
                (project.id, project.actor_id, project.id),
            )
            conn.rollback()
        assert list(listener.notifies(timeout=0.3)) == []
        project.write(3)  # three rows, one statement: one wake-up
        notes = list(listener.notifies(timeout=1.0))
    assert [(n.channel, n.payload) for n in notes] == [(stream.ACTIVITY_CHANNEL, str(project.id))]


def test_the_activity_lock_makes_a_later_writer_wait_for_the_earlier_commit(
    database_url: str, project: Project
) -> None:
    """Writer A holds the project's lock with its entry drawn; writer B, asking for the lock,
    waits, then draws a larger seq and commits after A: a reader never sees B's entry
    without A's."""
    first = psycopg.connect(database_url)
    try:
        first.execute("SELECT activity_lock(%s)", (project.id,))
        first_seq = first.execute(
            "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id)"
            " VALUES (%s, %s, 'project.updated', 'project', %s) RETURNING seq",
            (project.id, project.actor_id, project.id),
        ).fetchone()[0]
        second: Future[list[int]] = Future()
        threading.Thread(target=lambda: second.set_result(project.write())).start()
        with psycopg.connect(database_url, autocommit=True) as observer:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = observer.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                    " WHERE l.locktype = 'advisory' AND NOT l.granted"
                    " AND d.datname = current_database()"
                ).fetchone()[0]
                if waiting:
                    break
                time.sleep(0.02)
            assert waiting == 1, "the second writer did not wait for the project's lock"
            assert not second.done()
            # Another project's writer is not held up.
            assert Project(database_url).write() != []
        first.commit()
        (second_seq,) = second.result(timeout=10)
    finally:
        first.close()
    assert second_seq > first_seq


def test_the_lock_is_per_project(database_url: str, project: Project) -> None:
    other = Project(database_url)
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT activity_lock(%s)", (project.id,))
        done: Future[list[int]] = Future()
        threading.Thread(target=lambda: done.set_result(other.write())).start()
        assert done.result(timeout=5)


# ------------------------------------------------------------------------ the wire


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        (None, None, None),
        ("42", None, 42),
        (None, "42", 42),
        ("7", "42", 7),  # a reconnecting EventSource: the header is the newer
        (" 7 ", None, 7),
        ("0", None, 0),
        (str(2**63 - 1), None, 2**63 - 1),
    ],
)
def test_last_event_id(header: str | None, query: str | None, expected: int | None) -> None:
    assert parse_last_event_id(header, query) == expected


@pytest.mark.parametrize(
    ("header", "query", "errors"),
    [
        ("abc", None, [(("header", "last-event-id"), "int_parsing")]),
        ("", None, [(("header", "last-event-id"), "int_parsing")]),
        (None, "1.5", [(("query", "last_event_id"), "int_parsing")]),
        (None, "٥", [(("query", "last_event_id"), "int_parsing")]),
        (None, "+5", [(("query", "last_event_id"), "int_parsing")]),
        # U+0000: `invalid_characters` instead of any other error, as for every query value.
        (None, "5\x00", [(("query", "last_event_id"), "invalid_characters")]),
        (None, "\x00", [(("query", "last_event_id"), "invalid_characters")]),
        ("-1", None, [(("header", "last-event-id"), "greater_than_equal")]),
        (str(2**63), None, [(("header", "last-event-id"), "less_than_equal")]),
        (
            "x",
            "y",
            [
                (("header", "last-event-id"), "int_parsing"),
                (("query", "last_event_id"), "int_parsing"),
            ],
        ),
    ],
)
def test_bad_last_event_ids_are_named(header: str | None, query: str | None, errors: list) -> None:
    with pytest.raises(InvalidLastEventId) as raised:
        parse_last_event_id(header, query)
    assert raised.value.errors == errors


def test_an_event_frame() -> None:
    event = ActivityEvent(seq=17, data='{"id":"x"}')
    assert event.frame() == 'event: activity\ndata: {"id":"x"}\nid: 17\n\n'
    assert stream.HEARTBEAT.startswith(":") and stream.HEARTBEAT.endswith("\n\n")


# ------------------------------------------------------------------------ the hubs


class SyncAsyncSubscription:
    def __init__(self, subscription: Any, loop: LoopThread) -> None:
        self.inner, self._loop = subscription, loop

    def receive(self, timeout: float) -> list[ActivityEvent] | None:
        return self._loop.run(self.inner.receive(timeout), timeout + 10)

    def close(self) -> None:
        self._loop.call(self.inner.close)


class SyncAsyncHub:
    """AsyncHub behind the ThreadHub's synchronous shape."""

    def __init__(self, database_url: str, max_streams: int) -> None:
        self._loop = LoopThread()

        async def make() -> AsyncHub:
            return AsyncHub(database_url, max_streams=max_streams)

        self.hub = self._loop.run(make())

    def subscribe(
        self, project_id: uuid.UUID, last_event_id: int | None = None, **ends: Any
    ) -> Any:
        return SyncAsyncSubscription(
            self._loop.run(self.hub.subscribe(project_id, last_event_id, **ends)), self._loop
        )

    def connected(self, timeout: float) -> bool:
        async def wait() -> bool:
            try:
                await asyncio.wait_for(self.hub.connected.wait(), timeout)
            except TimeoutError:
                return False
            return True

        return self._loop.run(wait(), timeout + 5)

    @property
    def streams(self) -> int:
        return self.hub.streams

    @property
    def connects(self) -> int:
        return self.hub.connects

    def close(self) -> None:
        self._loop.run(self.hub.close())

    def shutdown(self) -> None:
        self.close()
        self._loop.stop()


class SyncThreadHub:
    def __init__(self, database_url: str, max_streams: int) -> None:
        self.hub = ThreadHub(database_url, max_streams=max_streams)

    def subscribe(
        self, project_id: uuid.UUID, last_event_id: int | None = None, **ends: Any
    ) -> Any:
        return self.hub.subscribe(project_id, last_event_id, **ends)

    def connected(self, timeout: float) -> bool:
        return self.hub.connected.wait(timeout)

    @property
    def streams(self) -> int:
        return self.hub.streams

    @property
    def connects(self) -> int:
        return self.hub.connects

    def close(self) -> None:
        self.hub.close()

    def shutdown(self) -> None:
        self.close()


RUNTIMES: dict[str, Callable[[str, int], Any]] = {"asyncio": SyncAsyncHub, "threads": SyncThreadHub}


@pytest.fixture(params=list(RUNTIMES))
def make_hub(request: pytest.FixtureRequest, database_url: str) -> Iterator[Callable[..., Any]]:
    hubs: list[Any] = []

    def make(max_streams: int = 50) -> Any:
        hub = RUNTIMES[request.param](database_url, max_streams)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.shutdown()


def collect(subscription: Any, count: int, seconds: float) -> list[ActivityEvent]:
    """Events until `count` have come or `seconds` have passed (then whatever came)."""
    received: list[ActivityEvent] = []
    deadline = time.monotonic() + seconds
    while len(received) < count and (left := deadline - time.monotonic()) > 0:
        events = subscription.receive(left)
        assert events is not None, "the stream ended"
        received.extend(events)
    return received


def quiet(subscription: Any, seconds: float = 0.3) -> bool:
    """No further event within `seconds`."""
    return subscription.receive(seconds) == []


def test_a_committed_change_arrives_within_a_second_as_its_activity_json(
    make_hub: Callable[..., Any], project: Project, database_url: str
) -> None:
    hub = make_hub()
    subscription = hub.subscribe(project.id)
    assert quiet(subscription), "a fresh stream starts after the newest entry"
    written_at = time.monotonic()
    (seq,) = project.write(changes={"label_ids": [[], ["b", "a"]], "title": ["Ünïcode ✓", "x"]})
    (event,) = collect(subscription, 1, ARRIVAL_SECONDS + 1)
    assert time.monotonic() - written_at < ARRIVAL_SECONDS
    assert event.seq == seq
    data = json.loads(event.data)
    assert data == expected_activity(database_url, seq)
    assert list(data) == [
        "id",
        "project_id",
        "actor",
        "verb",
        "target_type",
        "target_id",
        "changes",
        "created_at",
    ]
    assert "\n" not in event.data and ", " not in event.data  # one compact data line
    assert "Ünïcode ✓" in event.data  # UTF-8, not \u escapes
    subscription.close()


def test_both_runtimes_send_byte_equal_events(database_url: str, project: Project) -> None:
    hubs = [SyncAsyncHub(database_url, 5), SyncThreadHub(database_url, 5)]
    try:
        before = project.write()[0]
        project.write(2, changes={"assignee_id": [None, str(uuid.uuid4())]})
        frames = [
            [e.frame() for e in collect(hub.subscribe(project.id, before), 2, 5)] for hub in hubs
        ]
    finally:
        for hub in hubs:
            hub.shutdown()
    assert frames[0] == frames[1] and len(frames[0]) == 2


def test_events_of_other_projects_never_arrive(
    make_hub: Callable[..., Any], project: Project, database_url: str
) -> None:
    hub = make_hub()
    subscription = hub.subscribe(project.id)
    Project(database_url).write(2)
    assert quiet(subscription, 0.5)
    (seq,) = project.write()
    assert [e.seq for e in collect(subscription, 1, 5)] == [seq]


def test_resume_sends_exactly_the_missed_entries_in_order_then_live_ones(
    make_hub: Callable[..., Any], project: Project
) -> None:
    hub = make_hub()
    last_seen = project.write()[0]
    missed = [project.write()[0] for _ in range(3)]
    subscription = hub.subscribe(project.id, last_seen)
    assert [e.seq for e in collect(subscription, 3, 5)] == missed
    assert quiet(subscription)
    live = project.write(2)
    assert [e.seq for e in collect(subscription, 2, 5)] == live


def test_a_backlog_longer_than_a_batch_and_the_buffer_comes_whole_and_in_order(
    make_hub: Callable[..., Any], project: Project
) -> None:
    hub = make_hub()
    watcher = hub.subscribe(project.id)  # keeps the project's feed, and so its buffer, alive
    backlog = project.write(FEED_BUFFER + READ_BATCH + 7)
    assert [e.seq for e in collect(watcher, len(backlog), 30)] == backlog
    resumed = hub.subscribe(project.id, 0)  # from the very beginning: behind the buffer
    assert [e.seq for e in collect(resumed, len(backlog), 30)] == backlog
    live = project.write()
    assert [e.seq for e in collect(resumed, 1, 5)] == live
    assert [e.seq for e in collect(watcher, 1, 5)] == live


def test_many_subscribers_of_one_project_each_get_every_event_once(
    make_hub: Callable[..., Any], project: Project
) -> None:
    hub = make_hub()
    subscriptions = [hub.subscribe(project.id) for _ in range(20)]
    written = [seq for _ in range(5) for seq in project.write(2)]
    for subscription in subscriptions:
        assert [e.seq for e in collect(subscription, len(written), 10)] == written
        assert quiet(subscription, 0.05)


def test_a_subscriber_looking_while_another_reads_gets_what_that_read_finds(
    project: Project,
) -> None:
    """asyncio: two subscribers woken by one commit; the first reads for both, slowly; the
    second looks at the feed meanwhile (no longer stale: the read has begun) and must wait for
    that read to land rather than find nothing and sleep until a next commit that never comes."""
    loop = LoopThread()

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        hub = AsyncHub(project.database_url, max_streams=5)
        try:
            await asyncio.wait_for(_started(hub), 10)
            first, second = await hub.subscribe(project.id), await hub.subscribe(project.id)
            assert await first.receive(0.3) == [] and await second.receive(0.3) == []
            reading, gate = asyncio.Event(), asyncio.Event()
            since = hub._since

            async def slow_since(*args: Any) -> list[ActivityEvent]:
                reading.set()
                await gate.wait()
                return await since(*args)

            hub._since = slow_since  # type: ignore[method-assign]
            written = await asyncio.to_thread(project.write)
            first_receives = asyncio.create_task(first.receive(5))
            await asyncio.wait_for(reading.wait(), 10)  # the first's read is in flight
            second_receives = asyncio.create_task(second.receive(3))
            await asyncio.sleep(0.2)  # the second looks at the feed meanwhile
            gate.set()
            got = await first_receives, await second_receives
            return written, [e.seq for e in got[0] or []], [e.seq for e in got[1] or []]
        finally:
            await hub.close()

    try:
        written, first, second = loop.run(scenario())
    finally:
        loop.stop()
    assert first == written
    assert second == written


async def _started(hub: AsyncHub) -> None:
    hub.start()
    await hub.connected.wait()


def terminate_listeners(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()) t",
            (LISTENER_APPLICATION_NAME,),
        ).fetchone()[0]


def test_a_terminated_listener_connection_loses_no_event_and_repeats_none(
    make_hub: Callable[..., Any], project: Project, database_url: str
) -> None:
    hub = make_hub()
    subscription = hub.subscribe(project.id)
    assert hub.connected(10)
    first = project.write()
    assert [e.seq for e in collect(subscription, 1, 5)] == first
    for _ in range(2):  # twice: the reconnected listener is as good as the first
        connects = hub.connects
        assert terminate_listeners(database_url) == 1
        # Written while the listener is down or reconnecting, and nothing after: no
        # notification of these reaches the hub; only the re-read on reconnecting finds them.
        missed = project.write(2)
        deadline = time.monotonic() + 10
        while hub.connects == connects and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hub.connects == connects + 1, "the listener did not reconnect"
        assert [e.seq for e in collect(subscription, 2, 5)] == missed
        assert quiet(subscription)
    live = project.write()
    assert [e.seq for e in collect(subscription, 1, 5)] == live


def test_a_closed_subscription_is_released(
    make_hub: Callable[..., Any], project: Project, database_url: str
) -> None:
    hub = make_hub()
    subscriptions = [hub.subscribe(project.id) for _ in range(3)]
    assert hub.streams == 3
    for subscription in subscriptions:
        subscription.close()
        subscription.close()  # idempotent
    assert hub.streams == 0
    assert hub.hub._registry.feeds == {}
    project.write()  # a wake-up for a project nobody here watches any more
    time.sleep(0.2)
    assert hub.hub._registry.feeds == {}
    # One listener and at most one reader connection per process, however many streams came.
    with psycopg.connect(database_url, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT application_name FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name LIKE 'quartet-live-%'"
            )
        ]
    assert sorted(set(names)) == ["quartet-live-listener", "quartet-live-reader"]


def test_past_the_cap_a_subscription_is_refused_until_one_closes(
    make_hub: Callable[..., Any], project: Project
) -> None:
    hub = make_hub(max_streams=2)
    first, _second = hub.subscribe(project.id), hub.subscribe(uuid.uuid4())
    with pytest.raises(StreamsFull) as refused:
        hub.subscribe(project.id)
    assert refused.value.retry_after >= 1
    assert hub.streams == 2
    first.close()
    hub.subscribe(project.id)
    assert hub.streams == 2


def test_closing_the_hub_ends_its_streams(make_hub: Callable[..., Any], project: Project) -> None:
    hub = make_hub()
    subscription = hub.subscribe(project.id)
    hub.close()
    assert subscription.receive(1) is None
    with pytest.raises(StreamsFull):
        hub.hub._registry.admit()


def test_the_viewers_removal_is_sent_then_ends_the_stream_and_nothing_after_it(
    make_hub: Callable[..., Any], project: Project
) -> None:
    """A `member.removed` entry naming the stream's own user (target_id = the user's id): the
    wake-up's events up to and including it are sent, then the stream ends — what follows in
    the same batch is not sent. Another member's stream of the project takes it all and goes
    on."""
    hub = make_hub()
    removed, staying = uuid.uuid4(), uuid.uuid4()
    leaving = hub.subscribe(project.id, viewer=removed, expires_at=time.time() + 600)
    other = hub.subscribe(project.id, viewer=staying, expires_at=time.time() + 600)
    task = uuid.uuid4()
    written = project.write_entries(
        ("task.updated", "task", task),  # the removal unassigns their task first
        ("member.removed", "member", removed),
        ("task.updated", "task", task),  # committed with it: one read, one batch
    )
    received = collect(leaving, 2, 5)
    assert [e.seq for e in received] == written[:2]
    assert received[1].removed_member == removed
    assert json.loads(received[1].data)["target_id"] == str(removed)
    assert leaving.receive(3) is None, "the stream goes on after its user's removal"
    assert [e.seq for e in collect(other, 3, 5)] == written
    later = project.write()
    assert [e.seq for e in collect(other, 1, 5)] == later
    leaving.close()
    other.close()


def test_another_members_removal_does_not_end_the_stream(
    make_hub: Callable[..., Any], project: Project
) -> None:
    hub = make_hub()
    viewer = uuid.uuid4()
    subscription = hub.subscribe(project.id, viewer=viewer, expires_at=time.time() + 600)
    (removal,) = project.write_entries(("member.removed", "member", uuid.uuid4()))
    (updated,) = project.write_entries(("member.updated", "member", viewer))  # a role change
    assert [e.seq for e in collect(subscription, 2, 5)] == [removal, updated]
    assert quiet(subscription), "another member's removal ended the stream"
    later = project.write()
    assert [e.seq for e in collect(subscription, 1, 5)] == later
    subscription.close()


def test_the_stream_ends_when_its_token_expires(
    make_hub: Callable[..., Any], project: Project
) -> None:
    """`receive` never waits past the token's `exp` (epoch seconds) and ends the stream then —
    without an event or a heartbeat to notice it — having delivered everything until then."""
    hub = make_hub()
    expires_at = time.time() + 3.0
    subscription = hub.subscribe(project.id, viewer=uuid.uuid4(), expires_at=expires_at)
    written = project.write()
    assert [e.seq for e in collect(subscription, 1, 2.5)] == written
    assert subscription.receive(10) is None, "no end at the token's expiry"
    late = time.time() - expires_at
    assert -0.05 <= late < 1.0, f"ended {late:+.2f} s after the token's exp"
    assert subscription.receive(10) is None
    already = hub.subscribe(project.id, expires_at=time.time() - 1)
    assert already.receive(10) is None, "a token expired before subscribing"


def test_a_thread_hub_subscription_frames_then_releases(
    project: Project, database_url: str
) -> None:
    """The WSGI shape: a generator of SSE text; closing it (a client gone) releases the stream."""
    hub = ThreadHub(database_url, max_streams=3)
    try:
        subscription = hub.subscribe(project.id)
        frames = subscription.frames(heartbeat=0.2)
        assert next(frames) == stream.HEARTBEAT
        (seq,) = project.write()
        frame = next(frames)
        assert frame.startswith("event: activity\ndata: {") and frame.endswith(f"\nid: {seq}\n\n")
        frames.close()
        assert hub.streams == 0
    finally:
        hub.close()


def test_a_thread_hub_stream_ends_soon_after_its_client_has_gone(
    project: Project, database_url: str
) -> None:
    """A quiet stream asks `client_gone` between short waits: it ends (and releases) within
    about CLIENT_GONE_POLL_SECONDS of the client leaving, long before a heartbeat write could
    tell; while the client stays, heartbeats and events flow as without the check."""
    hub = ThreadHub(database_url, max_streams=3)
    gone = threading.Event()
    try:
        subscription = hub.subscribe(project.id)
        frames = subscription.frames(heartbeat=0.3, client_gone=gone.is_set)
        assert next(frames) == stream.HEARTBEAT  # 0.3 s: the steps add up to the heartbeat
        (seq,) = project.write()
        assert next(frames).endswith(f"\nid: {seq}\n\n")
        assert next(frames) == stream.HEARTBEAT
        frames.close()
        quiet = hub.subscribe(project.id).frames(heartbeat=60, client_gone=gone.is_set)
        threading.Timer(0.2, gone.set).start()
        started = time.monotonic()
        assert list(quiet) == []  # ends without a heartbeat
        assert time.monotonic() - started < CLIENT_GONE_POLL_SECONDS + 1.0
        assert hub.streams == 0
    finally:
        hub.close()


def test_thread_hub_frames_end_at_the_tokens_expiry_and_after_the_viewers_removal(
    project: Project, database_url: str
) -> None:
    """The WSGI shape ends the response (and releases the stream) at expiry, without a heartbeat,
    even while it polls `client_gone`; and right after the frames that carry the removal."""
    hub = ThreadHub(database_url, max_streams=3)
    try:
        expires_at = time.time() + 1.0
        frames = hub.subscribe(project.id, expires_at=expires_at).frames(
            heartbeat=5, client_gone=lambda: False
        )
        assert next(frames, None) is None, "no end at the token's expiry"
        assert -0.05 <= time.time() - expires_at < 1.0
        viewer = uuid.uuid4()
        frames = hub.subscribe(project.id, viewer=viewer).frames(heartbeat=5)
        (seq, _after) = project.write_entries(
            ("member.removed", "member", viewer), ("project.updated", "project", project.id)
        )
        chunk = next(frames)  # the wake-up's frames, in one chunk: the removal's only
        assert chunk.count("event: activity") == 1 and chunk.endswith(f"\nid: {seq}\n\n")
        assert next(frames, None) is None, "no end after the viewer's removal"
        assert hub.streams == 0
    finally:
        hub.close()


def test_an_async_hub_subscription_frames_then_releases(
    project: Project, database_url: str
) -> None:
    async def scenario() -> None:
        hub = AsyncHub(database_url, max_streams=3)
        try:
            subscription = await hub.subscribe(project.id)
            frames = subscription.frames(heartbeat=0.2)
            assert await anext(frames) == stream.HEARTBEAT
            (seq,) = await asyncio.to_thread(project.write)
            assert (await anext(frames)).endswith(f"\nid: {seq}\n\n")
            await frames.aclose()
            assert hub.streams == 0
        finally:
            await hub.close()

    asyncio.run(scenario())


# ------------------------------------------------------------------------ the SQLAlchemy lock


def _entry(project: Project) -> dict[str, Any]:
    return {
        "project_id": project.id,
        "actor_id": project.actor_id,
        "verb": "task.created",
        "target_type": "task",
        "target_id": uuid.uuid4(),
        "changes": {},
    }


def _held_then_written(project: Project, write: Callable[[], list[int]]) -> tuple[int, int]:
    """Hold the project's lock in another transaction, start `write` (which must block before
    drawing its seq), write an entry in the holder and commit it: (holder's seq, write's seqs)."""
    with psycopg.connect(project.database_url) as holder:
        holder.execute("SELECT activity_lock(%s)", (project.id,))
        result: Future[list[int]] = Future()
        threading.Thread(target=lambda: result.set_result(write())).start()
        with psycopg.connect(project.database_url, autocommit=True) as observer:
            wait_for_advisory_waiter(observer)
        held = holder.execute(
            "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id)"
            " VALUES (%s, %s, 'project.updated', 'project', %s) RETURNING seq",
            (project.id, project.actor_id, project.id),
        ).fetchone()[0]
        holder.commit()
    return held, min(result.result(timeout=10))


def wait_for_advisory_waiter(observer: psycopg.Connection) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if observer.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        ).fetchone()[0]:
            return
        time.sleep(0.02)
    raise AssertionError("nobody waited for the project's activity lock")


@pytest.mark.parametrize("how", ["session.add", "insert(Activity)"])
def test_the_sqlalchemy_session_takes_the_lock_before_inserting_activity(
    project: Project, how: str
) -> None:
    from sqlalchemy import create_engine, insert
    from sqlalchemy.orm import sessionmaker

    from shared.database import sqlalchemy_url
    from shared.live.orm_lock import ActivityLockingSession
    from shared.orm import Activity

    engine = create_engine(sqlalchemy_url(project.database_url, "psycopg"))
    sessions = sessionmaker(engine, class_=ActivityLockingSession)

    def write() -> list[int]:
        with sessions() as session:
            if how == "session.add":
                entries = [Activity(**_entry(project)), Activity(**_entry(project))]
                session.add_all(entries)
                session.flush()
                seqs = [e.seq for e in entries]
            else:
                rows = session.execute(
                    insert(Activity).returning(Activity.seq), [_entry(project), _entry(project)]
                )
                seqs = list(rows.scalars())
            session.commit()
            return seqs

    try:
        held, written = _held_then_written(project, write)
    finally:
        engine.dispose()
    assert written > held, "the session drew its seq before taking the project's lock"


def test_the_async_sqlalchemy_session_takes_the_lock_too(project: Project) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from shared.async_engines import create_request_engine
    from shared.live.orm_lock import ActivityLockingSession
    from shared.orm import Activity

    async def write() -> list[int]:
        engine = create_request_engine(project.database_url)
        try:
            sessions = async_sessionmaker(engine, sync_session_class=ActivityLockingSession)
            async with sessions() as session:
                entry = Activity(**_entry(project))
                session.add(entry)
                await session.flush()
                seq = entry.seq
                await session.commit()
                return [seq]
        finally:
            await engine.dispose()

    held, written = _held_then_written(project, lambda: asyncio.run(write()))
    assert written > held
