"""The notification webhook (SPEC sections 7 and 11, "Live part details"): the outbox rows that
migration 0006's `notify_task_assigned()` writes in the assignment's transaction are delivered
here, after the commit, off every request's path, by a worker inside each server process.

- Signed per Standard Webhooks (the `standardwebhooks` package): `webhook-id` (the outbox
  row's, the same on every attempt: the receiver's idempotency key), `webhook-timestamp` (this
  attempt's), `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with
  NOTIFY_WEBHOOK_SECRET; the body sent is exactly the stored, signed text.
- 2xx is delivered; 410 Gone stops for good; anything else (another status, a refused
  connection, a timeout) is retried: exponential backoff with jitter from 5 s up to 1 hour, a
  `Retry-After` honoured, until 24 hours after the notification — then the row is `failed`.
- Claimed with `FOR UPDATE SKIP LOCKED` and a lease: several processes never send one row at
  once, and a row whose worker died mid-send is due again when its lease expires.
- Woken by NOTIFY on `quartet_webhooks` (new rows), else sleeping until the next row falls due.

Two runtimes: `AsyncWebhookWorker` (an asyncio task, httpx.AsyncClient, asyncpg) and
`ThreadWebhookWorker` (a daemon thread, httpx.Client, psycopg). Each has a dedicated
connection: it never touches a request's connection, thread or task."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from standardwebhooks import Webhook

from shared.dedicated import Backoff, asyncpg_connection, psycopg_connection

log = logging.getLogger("quartet.webhooks")

WEBHOOK_CHANNEL = "quartet_webhooks"  # notify_task_assigned() notifies here (migration 0006)
WORKER_APPLICATION_NAME = "quartet-webhooks"
CLAIM_BATCH = 10  # rows per claim; a full batch is followed by another claim at once
LEASE_SECONDS = 60.0  # a claimed row is another worker's again after this: > SEND_DEADLINE
SEND_DEADLINE_SECONDS = 30.0  # one attempt, whatever the receiver does
SEND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # per phase (httpx applies it to each read)
IDLE_POLL_SECONDS = 30.0  # with nothing due and no NOTIFY: look again anyway
STOP_POLL_SECONDS = 1.0  # the thread worker hears close() within this
ERROR_MAX_LENGTH = 500

Status = Literal["pending", "delivered", "failed", "gone"]


# ------------------------------------------------------------------------ the schedule


@dataclass(frozen=True, slots=True)
class Schedule:
    """When to try again: the n-th failed attempt waits a random time in [b/2, b] with
    b = min(ceiling, 2 · first · 2^(n-1)) — from `first` (5 s) up to `ceiling` (1 hour), the
    jitter spreading the retries of many rows after an outage of the receiver. A Retry-After
    longer than that wait is honoured (up to `ceiling`). No attempt starts later than
    `give_up_after` the notification: the row is `failed` instead."""

    first: float = 5.0
    ceiling: float = 3600.0
    give_up_after: float = 24 * 3600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        bound = min(self.ceiling, 2 * self.first * 2 ** min(attempts - 1, 32))
        wait = random.uniform(bound / 2, bound)  # jitter, not secrecy
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.ceiling))
        return wait


DEFAULT_SCHEDULE = Schedule()


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delay-seconds or an HTTP-date), None if absent or
    unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


# ------------------------------------------------------------------------ one attempt


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row of `webhook_claim()`: this worker may send it until its lease expires."""

    id: int
    webhook_id: str
    body: str
    attempts: int  # this attempt included
    created_at: datetime
    lease_token: Any


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    next_attempt_at: datetime | None
    http_status: int | None
    error: str | None


def signed_headers(signer: Webhook, webhook_id: str, body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (the timestamp is the attempt's)."""
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(webhook_id, now, body),
    }


def decide(
    claimed: Claimed,
    http_status: int | None,
    error: str | None,
    retry_after: float | None,
    now: datetime,
    schedule: Schedule = DEFAULT_SCHEDULE,
) -> Outcome:
    """What an attempt's result makes of the row."""
    if http_status is not None and 200 <= http_status < 300:
        return Outcome("delivered", None, http_status, None)
    if http_status == 410:
        return Outcome("gone", None, http_status, "410 Gone: the receiver wants no more")
    if error is None:
        error = f"HTTP {http_status}"
    next_attempt_at = now + timedelta(seconds=schedule.delay(claimed.attempts, retry_after))
    if next_attempt_at > claimed.created_at + timedelta(seconds=schedule.give_up_after):
        return Outcome("failed", None, http_status, f"gave up after {claimed.attempts}: {error}")
    return Outcome("pending", next_attempt_at, http_status, error)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_MAX_LENGTH]


# The outbox's statements (migration 0006), in each driver's placeholders.
CLAIM_SQL = {
    "psycopg": "SELECT * FROM webhook_claim(%s, make_interval(secs => %s))",
    "asyncpg": "SELECT * FROM webhook_claim($1, make_interval(secs => $2))",
}
RECORD_SQL = {
    "psycopg": "SELECT webhook_record(%s, %s, %s, %s, %s, %s)",
    "asyncpg": "SELECT webhook_record($1, $2, $3, $4, $5::smallint, $6)",
}
NEXT_DUE_SQL = "SELECT webhook_next_due()"


def _record_args(claimed: Claimed, outcome: Outcome) -> tuple[Any, ...]:
    return (
        claimed.id,
        claimed.lease_token,
        outcome.status,
        outcome.next_attempt_at,
        outcome.http_status,
        outcome.error,
    )


def _log_outcome(claimed: Claimed, outcome: Outcome) -> None:
    if outcome.status != "delivered":
        log.warning(
            "webhook %s attempt %d: %s (%s)",
            claimed.webhook_id,
            claimed.attempts,
            outcome.error,
            outcome.status,
        )


def _idle_wait(next_due: float | None) -> float:
    return IDLE_POLL_SECONDS if next_due is None else min(max(next_due, 0.0), IDLE_POLL_SECONDS)


class _Worker:
    """What both runtimes share: the target, the signer, the schedule and the lease."""

    def __init__(
        self,
        database_url: str,
        url: str,
        secret: str,
        *,
        schedule: Schedule = DEFAULT_SCHEDULE,
        lease_seconds: float = LEASE_SECONDS,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database_url = database_url
        self.url = url
        self.signer = Webhook(secret)
        self.schedule = schedule
        self.lease_seconds = lease_seconds
        self._now = now
        self.attempts = 0  # attempts made by this worker (for tests and logs)

    def _headers(self, claimed: Claimed) -> dict[str, str]:
        return signed_headers(self.signer, claimed.webhook_id, claimed.body, self._now())

    def _decide(
        self, claimed: Claimed, response: httpx.Response | None, error: str | None
    ) -> Outcome:
        now = self._now()
        status = response.status_code if response is not None else None
        retry_after = (
            parse_retry_after(response.headers.get("retry-after"), now) if response else None
        )
        return decide(claimed, status, error, retry_after, now, self.schedule)


# ------------------------------------------------------------------------ asyncio


class AsyncWebhookWorker(_Worker):
    """An asyncio task per server process: `start()` in the server's startup (lifespan),
    `await close()` at shutdown."""

    _task: asyncio.Task[None] | None = None
    _client: httpx.AsyncClient | None = None

    def start(self) -> None:
        if self._task is None:
            self._due = asyncio.Event()
            self._client = httpx.AsyncClient(timeout=SEND_TIMEOUT, follow_redirects=False)
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="quartet-webhooks"
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            conn = None
            try:
                conn = await asyncpg_connection(self.database_url, WORKER_APPLICATION_NAME)
                await conn.add_listener(WEBHOOK_CHANNEL, lambda *_: self._due.set())
                # A lost connection wakes the loop too: its next statement fails, it reconnects.
                conn.add_termination_listener(lambda _conn: self._due.set())
                backoff.reset()
                while True:
                    self._due.clear()  # before claiming: a NOTIFY from now on is not lost
                    claimed = [
                        Claimed(*row)
                        for row in await conn.fetch(
                            CLAIM_SQL["asyncpg"], CLAIM_BATCH, self.lease_seconds
                        )
                    ]
                    outcomes = await asyncio.gather(*(self._attempt(c) for c in claimed))
                    for item, outcome in zip(claimed, outcomes, strict=True):
                        await conn.fetchval(RECORD_SQL["asyncpg"], *_record_args(item, outcome))
                    if len(claimed) == CLAIM_BATCH:
                        continue
                    wait = _idle_wait(await conn.fetchval(NEXT_DUE_SQL))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._due.wait(), wait)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever broke it: start again, never give up
                log.warning("webhook worker: %s; starting again", _error_text(exc))
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            await asyncio.sleep(backoff.next())

    async def _attempt(self, claimed: Claimed) -> Outcome:
        assert self._client is not None
        self.attempts += 1
        response, error = None, None
        try:
            async with asyncio.timeout(SEND_DEADLINE_SECONDS):
                response = await self._client.post(
                    self.url, content=claimed.body.encode(), headers=self._headers(claimed)
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            error = _error_text(exc)
        outcome = self._decide(claimed, response, error)
        _log_outcome(claimed, outcome)
        return outcome


# ------------------------------------------------------------------------ threads


class ThreadWebhookWorker(_Worker):
    """A daemon thread per server process, started after the fork (gunicorn: in the worker,
    e.g. the app factory or a post_fork hook — `start()` notices a fork and starts afresh);
    `close()` at shutdown."""

    _thread: threading.Thread | None = None
    _pid: int | None = None

    def start(self) -> None:
        if self._thread is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="quartet-webhooks", daemon=True)
            self._thread.start()

    def close(self, timeout: float = SEND_DEADLINE_SECONDS) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = Backoff()
        with httpx.Client(timeout=SEND_TIMEOUT, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    with psycopg_connection(self.database_url, WORKER_APPLICATION_NAME) as conn:
                        conn.execute(f"LISTEN {WEBHOOK_CHANNEL}")
                        backoff.reset()
                        self._serve(conn, client)
                except Exception as exc:  # noqa: BLE001 - whatever broke it: start again
                    log.warning("webhook worker: %s; starting again", _error_text(exc))
                self._stop.wait(backoff.next())

    def _serve(self, conn: Any, client: httpx.Client) -> None:
        while not self._stop.is_set():
            rows = conn.execute(CLAIM_SQL["psycopg"], (CLAIM_BATCH, self.lease_seconds))
            claimed = [Claimed(*row) for row in rows.fetchall()]
            for item in claimed:
                outcome = self._attempt(client, item)
                conn.execute(RECORD_SQL["psycopg"], _record_args(item, outcome))
            if len(claimed) == CLAIM_BATCH:
                continue
            deadline = time.monotonic() + _idle_wait(conn.execute(NEXT_DUE_SQL).fetchone()[0])
            while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if list(conn.notifies(timeout=min(left, STOP_POLL_SECONDS), stop_after=1)):
                    break  # new rows

    def _attempt(self, client: httpx.Client, claimed: Claimed) -> Outcome:
        self.attempts += 1
        response, error = None, None
        try:
            # Streamed and never read: the status is all we need, and a receiver dripping a
            # body cannot hold the worker past the per-read timeout.
            with client.stream(
                "POST", self.url, content=claimed.body.encode(), headers=self._headers(claimed)
            ) as response:
                pass
        except httpx.HTTPError as exc:
            response, error = None, _error_text(exc)
        outcome = self._decide(claimed, response, error)
        _log_outcome(claimed, outcome)
        return outcome


# ------------------------------------------------------------------------ the CLI's listing

_PENDING_AND_FAILED_SQL = """
SELECT id, notification_id, webhook_id, status, attempts, next_attempt_at, last_attempt_at,
       last_status, last_error, created_at
FROM webhook_deliveries
WHERE status IN ('pending', 'failed') AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY status DESC, next_attempt_at, id
LIMIT %(limit)s
"""


def pending_and_failed(database_url: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    """`quartet webhooks`: deliveries not done yet (pending, in next-attempt order) and given up
    (failed), as JSON-ready dicts (timestamps in the contract's format; `next_attempt_at` of a
    failed one is None: there is none)."""
    import psycopg
    from psycopg.rows import dict_row

    from shared.database import normalise
    from shared.timefmt import format_timestamp

    with psycopg.connect(normalise(database_url), row_factory=dict_row) as conn:
        rows = conn.execute(_PENDING_AND_FAILED_SQL, {"status": status, "limit": limit}).fetchall()
    for row in rows:
        row["notification_id"] = str(row["notification_id"])
        if row["status"] == "failed":
            row["next_attempt_at"] = None
        for name in ("next_attempt_at", "last_attempt_at", "created_at"):
            if row[name] is not None:
                row[name] = format_timestamp(row[name])
    return rows
