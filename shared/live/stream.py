"""What every implementation's event stream shares, whatever its runtime: the SSE framing of
an activity event, the heartbeat, `Last-Event-ID` parsing, the per-process limits, and the
Activity JSON, produced here once so the four streams are byte-equal (SPEC section 11, "Live
part details"; notes/live-foundation.md)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from shared.inputs import NUL, parse_int
from shared.timefmt import format_timestamp
from shared.vocabulary import ActivityVerb

MEDIA_TYPE = "text/event-stream"
# Where the activity trigger of migration 0006 notifies (payload: the project id).
ACTIVITY_CHANNEL = "quartet_activity"
HEARTBEAT_SECONDS = 15.0
# A comment line: ignored by EventSource, but real bytes, so a proxy keeps the connection and a
# WSGI server notices a client that has gone (FRAMEWORK-NOTES, "Flask"). The same bytes as
# FastAPI's built-in keep-alive and Litestar's `ServerSentEventMessage(comment="ping")`.
HEARTBEAT = ": ping\n\n"
# Headers of every stream response besides the media type (and the contract's own headers):
# no proxy buffering (nginx), and the contract's `Cache-Control: no-store` stays.
STREAM_HEADERS = {"X-Accel-Buffering": "no"}

# Entries read per statement: a subscriber far behind (an old Last-Event-ID) catches up in
# batches, and one wake-up never reads an unbounded number of rows.
READ_BATCH = 200
# Recent events kept per project per process, so that the process's subscribers of a project
# share one read per wake-up instead of one each.
FEED_BUFFER = 1024
# Per process: streams past this get `503` with `Retry-After: STREAMS_RETRY_AFTER_SECONDS`.
# asyncio servers hold a stream as a task and a socket (mind the process's file descriptor
# limit); thread servers pass their own cap (a stream holds a thread).
MAX_ASYNC_STREAMS = 1000
STREAMS_RETRY_AFTER_SECONDS = 5

# What the listener and reader connections call themselves in pg_stat_activity (an operator,
# or a test, finds them there).
LISTENER_APPLICATION_NAME = "quartet-live-listener"
READER_APPLICATION_NAME = "quartet-live-reader"

SEQ_MAX = 2**63 - 1  # `seq` is a bigint


class StreamsFull(Exception):
    """This process holds as many streams as it may: answer 503 with Retry-After."""

    retry_after = STREAMS_RETRY_AFTER_SECONDS


class InvalidLastEventId(ValueError):
    """A `Last-Event-ID` header or `last_event_id` parameter that is not a `seq`: a 422 with these
    errors, each `(loc, type)` as the contract's `errors[]` has them."""

    def __init__(self, errors: list[tuple[tuple[str, str], str]]) -> None:
        super().__init__("invalid last event id")
        self.errors = errors


HEADER_LOC = ("header", "last-event-id")
QUERY_LOC = ("query", "last_event_id")


def parse_last_event_id(header: str | None, query: str | None) -> int | None:
    """Where a stream resumes: the `seq` after which entries are sent, or None (from now on).

    Both are a decimal `seq` in ASCII digits, 0 to 2**63-1; anything else — empty included — is
    a 422 at that location (`int_parsing`, or `greater_than_equal` / `less_than_equal` for an
    integer out of range; `invalid_characters` for a value holding U+0000, as every query
    parameter), every bad one listed. With both, the header wins: a browser's
    EventSource reconnects to the same URL, `?last_event_id=` and all, and sends the id of the
    last event it received in the header."""
    errors: list[tuple[tuple[str, str], str]] = []
    values: dict[tuple[str, str], int] = {}
    for loc, raw in ((HEADER_LOC, header), (QUERY_LOC, query)):
        if raw is None:
            continue
        value = parse_int(raw.strip(" \t") if loc == HEADER_LOC else raw)
        if NUL in raw:
            errors.append((loc, "invalid_characters"))
        elif value is None:
            errors.append((loc, "int_parsing"))
        elif value < 0:
            errors.append((loc, "greater_than_equal"))
        elif value > SEQ_MAX:
            errors.append((loc, "less_than_equal"))
        else:
            values[loc] = value
    if errors:
        raise InvalidLastEventId(errors)
    return values.get(HEADER_LOC, values.get(QUERY_LOC))


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One activity entry as the stream sends it: `seq` (the SSE id) and `data`, the Activity
    JSON. Frameworks with their own SSE type take the two fields; the others send `frame()`.
    `removed_member`: for a `member.removed` entry, whom it removed (that user's stream ends
    with it); not sent."""

    seq: int
    data: str
    removed_member: uuid.UUID | None = None

    def frame(self) -> str:
        """The event's SSE text, fields in the order FastAPI's encoder writes them (a client
        does not care about the order; `data` is what must be, and is, byte-equal)."""
        return f"event: activity\ndata: {self.data}\nid: {self.seq}\n\n"


def _uuid(value: Any) -> str:
    # psycopg gives uuid.UUID, asyncpg its own UUID type: both print the canonical form.
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


def activity_event(row: Any) -> ActivityEvent:
    """A row of `activity_since()` (migration 0006) as its event. The JSON is the Activity
    representation of the activity list — the contract's field order, compact, UTF-8 — made here
    for all four implementations, so their streams are byte-equal."""
    (seq, entry_id, project_id, actor_id, actor_email, actor_name, verb, target_type, target_id,
     changes, created_at) = row  # fmt: skip
    if isinstance(changes, str | bytes):  # asyncpg returns jsonb as text
        changes = json.loads(changes)
    activity = {
        "id": _uuid(entry_id),
        "project_id": _uuid(project_id),
        "actor": {"id": _uuid(actor_id), "email": actor_email, "display_name": actor_name},
        "verb": verb,
        "target_type": target_type,
        "target_id": _uuid(target_id),
        "changes": changes,
        "created_at": format_timestamp(created_at),
    }
    data = json.dumps(activity, ensure_ascii=False, separators=(",", ":"))
    # target_id of a member entry is the user's id (contract/DECISIONS.md, "Behaviour details")
    removed = uuid.UUID(activity["target_id"]) if verb == ActivityVerb.MEMBER_REMOVED else None
    return ActivityEvent(seq=int(seq), data=data, removed_member=removed)


# The two statements of a stream (migration 0006), in each driver's placeholders.
SINCE_SQL = {
    "psycopg": "SELECT * FROM activity_since(%s, %s, %s)",
    "asyncpg": "SELECT * FROM activity_since($1, $2, $3)",
}
HEAD_SQL = {
    "psycopg": "SELECT activity_head(%s)",
    "asyncpg": "SELECT activity_head($1)",
}
