"""The webhook outbox's foundation in shared/ (issue 16; notes/live-foundation.md), tested
without any implementation: migration 0006's notify_task_assigned() and outbox, the Standard
Webhooks signature (checked by the `standardwebhooks` package on a real local receiver), the
schedule, and the delivery worker in both runtimes — success, retries with one webhook-id and
exactly one success, 410, Retry-After, giving up, two workers never sending one row twice, a
worker killed mid-send leaving its row deliverable — and `quartet webhooks`.

Real PostgreSQL: a database of its own on the session's cluster. Not parametrized over the
implementations (it never starts a server)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from standardwebhooks import Webhook

from shared.migrate import migrate
from shared.webhooks import (
    AsyncWebhookWorker,
    Claimed,
    Schedule,
    ThreadWebhookWorker,
    decide,
    parse_retry_after,
)
from support.loop import LoopThread
from support.servers import REPO_ROOT, ServerPool, base_env

SECRET = "whsec_" + base64.b64encode(b"quartet-webhook-test-secret-32-b").decode()
FAST = Schedule(first=0.05, ceiling=0.2, give_up_after=3600)  # retries in tenths of a second


# ------------------------------------------------------------------------ database


@pytest.fixture(scope="module")
def database_url(_server_pool: ServerPool) -> str:
    url = _server_pool.cluster().create_database("quartet_webhooks")
    migrate(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """Autocommit; an empty outbox (workers deliver whatever is due in the database)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM webhook_deliveries")
        yield conn


@dataclass
class Assignment:
    actor: uuid.UUID
    assignee: uuid.UUID
    project: uuid.UUID
    task: uuid.UUID


def users_and_task(db: psycopg.Connection) -> Assignment:
    ids = []
    for name in ("actor", "assignee"):
        ids.append(
            db.execute(
                "INSERT INTO users (email, display_name, password_hash) VALUES (%s, %s, 'x')"
                " RETURNING id",
                (f"{name}-{uuid.uuid4().hex[:10]}@example.com", name.title()),
            ).fetchone()[0]
        )
    project = db.execute(
        "INSERT INTO projects (name, created_by) VALUES ('hooks', %s) RETURNING id", (ids[0],)
    ).fetchone()[0]
    task = db.execute(
        "INSERT INTO tasks (project_id, title, created_by) VALUES (%s, 't', %s) RETURNING id",
        (project, ids[0]),
    ).fetchone()[0]
    return Assignment(ids[0], ids[1], project, task)


def assign(db: psycopg.Connection, a: Assignment, *, webhook: bool = True) -> uuid.UUID | None:
    return db.execute(
        "SELECT notify_task_assigned(%s, %s, %s, %s, %s)",
        (a.task, a.project, a.assignee, a.actor, webhook),
    ).fetchone()[0]


def delivery(db: psycopg.Connection, notification_id: uuid.UUID) -> dict[str, Any]:
    row = db.execute(
        "SELECT status, attempts, last_status, last_error, webhook_id, body, next_attempt_at,"
        " last_attempt_at, locked_until FROM webhook_deliveries WHERE notification_id = %s",
        (notification_id,),
    ).fetchone()
    keys = "status attempts last_status last_error webhook_id body next_attempt_at"
    return dict(zip([*keys.split(), "last_attempt_at", "locked_until"], row, strict=True))


def wait_for(predicate: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    return predicate()


# ------------------------------------------------------------------------ the receiver


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def verified(self) -> Any:
        """The payload, if the signature is good (standardwebhooks raises otherwise)."""
        return Webhook(SECRET).verify(self.body, self.headers)


@dataclass
class Receiver:
    """A local webhook receiver: answers each request with the next of `script` (status and
    headers; the last repeats), records what it got. `hold` blocks requests until set."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(204, {})])
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None
    delay: float = 0.0

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if state.hold is not None:
                state.hold.wait(30)
            time.sleep(state.delay)
            with lock:
                state.received.append(Received(dict(self.headers.items()), body))
                status, headers = state.script[min(len(state.received), len(state.script)) - 1]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    if state.hold is not None:
        state.hold.set()
    server.shutdown()
    server.server_close()


# ------------------------------------------------------------------------ the workers


class AsyncRunner:
    def __init__(self, worker: AsyncWebhookWorker) -> None:
        self.worker, self._loop = worker, LoopThread()
        self._loop.call(worker.start)

    def close(self) -> None:
        self._loop.run(self.worker.close())
        self._loop.stop()


class ThreadRunner:
    def __init__(self, worker: ThreadWebhookWorker) -> None:
        self.worker = worker
        worker.start()

    def close(self) -> None:
        self.worker.close()


WORKERS = {
    "asyncio": (AsyncWebhookWorker, AsyncRunner),
    "threads": (ThreadWebhookWorker, ThreadRunner),
}


@pytest.fixture(params=list(WORKERS))
def start_worker(request: pytest.FixtureRequest, database_url: str) -> Iterator[Callable[..., Any]]:
    runners: list[Any] = []

    def start(url: str, runtime: str | None = None, **options: Any) -> Any:
        worker_class, runner_class = WORKERS[runtime or request.param]
        options.setdefault("schedule", FAST)
        runner = runner_class(worker_class(database_url, url, SECRET, **options))
        runners.append(runner)
        return runner.worker

    yield start
    for runner in runners:
        runner.close()


# ------------------------------------------------------------------------ the SQL


def test_an_assignment_writes_the_notification_and_its_signed_body(db: psycopg.Connection) -> None:
    a = users_and_task(db)
    notification_id = assign(db, a)
    row = db.execute(
        "SELECT user_id, kind, task_id, project_id, actor_id, read_at FROM notifications"
        " WHERE id = %s",
        (notification_id,),
    ).fetchone()
    assert row == (a.assignee, "task.assigned", a.task, a.project, a.actor, None)
    outbox = delivery(db, notification_id)
    assert outbox["status"] == "pending" and outbox["attempts"] == 0
    assert outbox["webhook_id"] == "msg_" + notification_id.hex
    body = json.loads(outbox["body"])
    assert body["type"] == "task.assigned"
    assert body["data"]["id"] == str(notification_id)
    assert body["data"]["actor"]["id"] == str(a.actor)
    assert body["data"]["recipient"]["id"] == str(a.assignee)
    assert body["data"]["read"] is False
    assert body["timestamp"] == body["data"]["created_at"]
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 27


def test_no_notification_for_oneself_or_for_no_assignee(db: psycopg.Connection) -> None:
    a = users_and_task(db)
    mine = Assignment(a.actor, a.actor, a.project, a.task)
    nobody = db.execute(
        "SELECT notify_task_assigned(%s, %s, NULL, %s, true)", (a.task, a.project, a.actor)
    ).fetchone()[0]
    assert assign(db, mine) is None and nobody is None
    assert db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0


def test_without_a_webhook_no_outbox_row_and_no_wake_up(db: psycopg.Connection) -> None:
    a = users_and_task(db)
    db.execute("LISTEN quartet_webhooks")
    assert assign(db, a, webhook=False) is not None
    assert db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0
    assert list(db.notifies(timeout=0.2)) == []
    assign(db, a)
    assert [n.channel for n in db.notifies(timeout=1, stop_after=1)] == ["quartet_webhooks"]


def test_a_rolled_back_assignment_leaves_nothing_to_send(
    db: psycopg.Connection, database_url: str
) -> None:
    a = users_and_task(db)
    with psycopg.connect(database_url) as conn:
        assign(conn, a)  # type: ignore[arg-type]
        conn.rollback()
    assert db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0


def test_the_inbox_newest_first_with_the_unread_filter_and_mark_read(
    db: psycopg.Connection, database_url: str
) -> None:
    """shared.notifications, the SQLAlchemy implementations' statements, on the real table."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from shared.database import sqlalchemy_url
    from shared.notifications import NOTIFICATIONS_NEWEST_FIRST, mark_read, notifications_of

    a = users_and_task(db)
    created = [assign(db, a, webhook=False) for _ in range(3)]
    engine = create_engine(sqlalchemy_url(database_url, "psycopg"))
    try:
        with Session(engine) as session:
            listed = session.scalars(
                notifications_of(a.assignee, None).order_by(*NOTIFICATIONS_NEWEST_FIRST.order_by())
            ).all()
            assert {n.id for n in listed} == set(created)
            assert [(n.created_at, n.id) for n in listed] == sorted(
                ((n.created_at, n.id) for n in listed), reverse=True
            )
            assert listed[0].actor.id == a.actor and not any(n.read for n in listed)
            assert session.execute(mark_read(created[0], a.actor)).first() is None  # not theirs
            assert session.execute(mark_read(created[0], a.assignee)).first() is not None
            assert session.execute(mark_read(created[0], a.assignee)).first() is not None
            session.commit()
            unread = session.scalars(notifications_of(a.assignee, True)).all()
            read = session.scalars(notifications_of(a.assignee, False)).all()
            assert {n.id for n in unread} == set(created[1:])
            assert [n.id for n in read] == [created[0]] and read[0].read
    finally:
        engine.dispose()


# ------------------------------------------------------------------------ the schedule


def test_backoff_starts_at_5_seconds_and_stays_under_an_hour() -> None:
    schedule = Schedule()
    for _ in range(200):
        assert 5 <= schedule.delay(1) <= 10
        assert 10 <= schedule.delay(2) <= 20
        assert 1800 <= schedule.delay(12) <= 3600
        assert 1800 <= schedule.delay(10_000) <= 3600
    assert schedule.delay(1, retry_after=120) >= 120
    assert schedule.delay(1, retry_after=10**9) <= 3600
    assert len({round(schedule.delay(3), 6) for _ in range(50)}) > 40, "no jitter"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 03 Dec 2026 09:01:00 GMT", now) == 60
    assert parse_retry_after("Thu, 03 Dec 2026 08:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (200, None, "delivered"),
        (204, None, "delivered"),
        (410, None, "gone"),
        (301, None, "pending"),
        (404, None, "pending"),
        (500, None, "pending"),
        (None, "ConnectError: refused", "pending"),
    ],
)
def test_what_an_attempt_makes_of_a_row(
    status: int | None, error: str | None, outcome: str
) -> None:
    now = datetime.now(UTC)
    claimed = Claimed(1, "msg_x", "{}", 1, now, uuid.uuid4())
    decided = decide(claimed, status, error, None, now)
    assert decided.status == outcome
    if outcome == "pending":
        assert now + timedelta(seconds=5) <= decided.next_attempt_at <= now + timedelta(seconds=10)
        assert decided.error


def test_no_attempt_after_24_hours() -> None:
    now = datetime.now(UTC)
    old = Claimed(1, "msg_x", "{}", 17, now - timedelta(hours=23, minutes=59), uuid.uuid4())
    decided = decide(old, 503, None, None, now)
    assert decided.status == "failed" and "503" in decided.error


# ------------------------------------------------------------------------ delivery


def test_a_notification_is_delivered_signed(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    start_worker(url)
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "delivered", 5)
    (request,) = state.received
    payload = request.verified()
    assert payload["data"]["id"] == str(notification_id)
    assert request.body.decode() == delivery(db, notification_id)["body"]  # the stored bytes
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    outbox = delivery(db, notification_id)
    assert (outbox["attempts"], outbox["last_status"], outbox["last_error"]) == (1, 204, None)


def test_a_forged_signature_does_not_verify(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    """The receiver's check is real: the same request under another secret fails."""
    state, url = receiver
    start_worker(url)
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "delivered", 5)
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(Exception, match="signature"):
        Webhook(other).verify(state.received[0].body, state.received[0].headers)


def test_a_receiver_failing_twice_gets_it_once_with_one_webhook_id(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    state.script = [(500, {}), (503, {}), (200, {})]
    worker = start_worker(url)
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "delivered", 10)
    time.sleep(0.5)  # long enough for a (wrong) further attempt under the fast schedule
    assert len(state.received) == 3 and worker.attempts == 3
    assert set(state.ids()) == {"msg_" + notification_id.hex}
    assert all(r.verified()["data"]["id"] == str(notification_id) for r in state.received)
    outbox = delivery(db, notification_id)
    assert (outbox["attempts"], outbox["last_status"], outbox["last_error"]) == (3, 200, None)


def test_410_stops_for_good(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    state.script = [(410, {}), (200, {})]
    start_worker(url)
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "gone", 5)
    time.sleep(0.5)
    assert len(state.received) == 1
    assert delivery(db, notification_id)["last_status"] == 410


def test_retry_after_is_honoured(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    state.script = [(503, {"Retry-After": "120"})]
    start_worker(url, schedule=Schedule(first=0.05, ceiling=3600, give_up_after=3600))
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["last_status"] == 503, 5)
    outbox = delivery(db, notification_id)
    assert outbox["status"] == "pending"
    # The schedule alone would retry within 0.1 s; the receiver asked for 2 minutes.
    assert outbox["next_attempt_at"] - outbox["last_attempt_at"] >= timedelta(seconds=119)
    time.sleep(0.5)
    assert len(state.received) == 1


def test_a_receiver_that_never_accepts_is_given_up_on(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    state.script = [(500, {})]
    start_worker(url, schedule=Schedule(first=0.05, ceiling=0.1, give_up_after=0.6))
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "failed", 10)
    outbox = delivery(db, notification_id)
    assert outbox["last_status"] == 500 and "gave up" in outbox["last_error"]
    count = len(state.received)
    time.sleep(0.5)
    assert len(state.received) == count >= 2


def test_an_unreachable_receiver_is_retried(
    db: psycopg.Connection, start_worker: Callable[..., Any]
) -> None:
    from shared.processes import free_port

    start_worker(f"http://127.0.0.1:{free_port()}/nobody")
    notification_id = assign(db, users_and_task(db))
    assert wait_for(lambda: (delivery(db, notification_id)["attempts"] or 0) >= 2, 5)
    outbox = delivery(db, notification_id)
    assert outbox["status"] == "pending" and outbox["last_status"] is None
    assert "Connect" in outbox["last_error"]


def test_two_workers_never_deliver_one_row_twice(
    db: psycopg.Connection, receiver: tuple[Receiver, str], start_worker: Callable[..., Any]
) -> None:
    state, url = receiver
    state.delay = 0.01
    workers = [start_worker(url, "asyncio"), start_worker(url, "threads")]
    a = users_and_task(db)
    notifications = [assign(db, a) for _ in range(40)]
    assert wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"
            ).fetchone()[0]
            == 40
        ),
        20,
    )
    assert sorted(state.ids()) == sorted("msg_" + n.hex for n in notifications)
    assert sum(w.attempts for w in workers) == 40
    assert all(w.attempts > 0 for w in workers), "one worker did all the work: no contention"


WORKER_SCRIPT = """
import sys, time
from shared.webhooks import Schedule, ThreadWebhookWorker
worker = ThreadWebhookWorker(sys.argv[1], sys.argv[2], sys.argv[3],
                             schedule=Schedule(0.05, 0.2, 3600), lease_seconds=1.5)
worker.start()
time.sleep(600)
"""


def test_a_worker_killed_mid_send_leaves_the_row_deliverable(
    db: psycopg.Connection,
    receiver: tuple[Receiver, str],
    start_worker: Callable[..., Any],
    database_url: str,
) -> None:
    state, url = receiver
    state.hold = threading.Event()
    notification_id = assign(db, users_and_task(db))
    doomed = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, database_url, url, SECRET],
        cwd=REPO_ROOT,
        env=base_env(),
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: delivery(db, notification_id)["attempts"] == 1, 20)
        claimed = delivery(db, notification_id)
        assert claimed["locked_until"] is not None  # leased, mid-send
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(doomed.pid, signal.SIGKILL)
    state.hold.set()  # the receiver got (and acknowledged) nothing the dead worker could record
    start_worker(url, lease_seconds=1.5)
    assert wait_for(lambda: delivery(db, notification_id)["status"] == "delivered", 10)
    outbox = delivery(db, notification_id)
    assert outbox["attempts"] == 2
    assert set(state.ids()) == {"msg_" + notification_id.hex}


# ------------------------------------------------------------------------ quartet webhooks


def quartet(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "webhooks", *args],
        cwd=REPO_ROOT,
        env=base_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_quartet_webhooks_lists_pending_and_failed(
    db: psycopg.Connection, database_url: str
) -> None:
    assert quartet(database_url=database_url).stdout.strip() == "no pending or failed deliveries"
    a = users_and_task(db)
    pending, failed, delivered = (assign(db, a) for _ in range(3))
    db.execute(
        "UPDATE webhook_deliveries SET status = 'failed', attempts = 9, last_status = 500,"
        " last_error = 'gave up after 9: HTTP 500' WHERE notification_id = %s",
        (failed,),
    )
    db.execute(
        "UPDATE webhook_deliveries SET status = 'delivered' WHERE notification_id = %s",
        (delivered,),
    )
    done = quartet(database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert str(pending) in done.stdout and str(failed) in done.stdout
    assert str(delivered) not in done.stdout
    assert "gave up after 9: HTTP 500" in done.stdout
    only_failed = quartet("--status", "failed", database_url=database_url)
    assert str(failed) in only_failed.stdout and str(pending) not in only_failed.stdout
    as_json = json.loads(quartet("--json", database_url=database_url).stdout)
    assert {d["notification_id"] for d in as_json} == {str(pending), str(failed)}
    assert {d["status"] for d in as_json} == {"pending", "failed"}


def test_quartet_webhooks_help(database_url: str) -> None:
    done = quartet("--help", database_url=database_url)
    assert done.returncode == 0 and "usage:" in done.stdout.lower()


@pytest.mark.parametrize(
    "args", [["--status", "delivered"], ["--limit", "0"], ["--limit", "x"], ["extra"]]
)
def test_quartet_webhooks_bad_arguments(args: list[str], database_url: str) -> None:
    done = quartet(*args, database_url=database_url)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "error" in done.stderr
    assert done.stdout == ""
