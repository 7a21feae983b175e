"""Project events over Server-Sent Events, fanned out through PostgreSQL LISTEN/NOTIFY (SPEC
sections 7 and 11, "Live part details"; notes/live-foundation.md).

- shared.live.stream: the wire (SSE framing, heartbeat, Last-Event-ID, the Activity JSON) and
  the per-process limits, for every implementation.
- shared.live.hub_async: `AsyncHub` for asyncio servers (asyncpg).
- shared.live.hub_threads: `ThreadHub` for thread servers (psycopg 3).
- shared.live.feed, shared.live.registry: the bookkeeping both hubs share.
- shared.live.writes: what writers call in their transactions (the activity lock, the
  `task.assigned` notification and its webhook outbox row); shared.live.orm_lock: a SQLAlchemy
  session class that takes the activity lock by itself.

Writers take `activity_lock(project_id)` (migration 0006) right before inserting activity; the
trigger of that migration wakes the listeners. Notifications: shared.notifications; webhook
delivery: shared.webhooks."""
