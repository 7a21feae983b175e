-- Live part (SPEC sections 7 and 11 "Live part details"; issue 16): the activity stream's
-- wake-up and ordering, notifications, and the webhook outbox. As in 0004, the rules live here
-- as functions, so the four implementations call one piece of SQL instead of writing it four
-- times (shared/live.py and shared/webhooks.py call them; notes/live-foundation.md).

-- ------------------------------------------------------------------------ activity stream

-- Entries must commit in `seq` order per project, or a reader that has sent seq 11 never sees
-- a seq 10 that commits after it. `seq` is an identity: its value is drawn when the row is
-- formed, before any BEFORE trigger runs, so a trigger cannot take this lock early enough — a
-- lock taken there would only order commits of values already drawn out of order. Every
-- writer therefore calls this function itself, in its transaction, right before it inserts
-- activity of the project (after the transaction's last row lock: a writer holding this lock
-- must not then wait for a row another writer of the project holds, or the two deadlock).
-- The lock is released at commit, after the entries became visible, so the next writer of the
-- project draws a larger `seq` and commits after.
CREATE FUNCTION activity_lock(p_project_id uuid) RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('quartet-activity:' || p_project_id::text, 0))
$$;

-- One wake-up per project per inserting statement, delivered at commit (and only then: a
-- rolled-back write wakes nobody). The payload is the project id and nothing else: a subscriber
-- re-reads `seq > last_sent` from the table, so a lost, merged or late notification loses no
-- event. PostgreSQL also folds equal notifications of one transaction into one.
CREATE FUNCTION activity_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('quartet_activity', p.project_id::text)
    FROM (SELECT DISTINCT project_id FROM inserted_activity) p;
    RETURN NULL;
END $$;

CREATE TRIGGER activity_wake
    AFTER INSERT ON activity REFERENCING NEW TABLE AS inserted_activity
    FOR EACH STATEMENT EXECUTE FUNCTION activity_wake();

-- A project's entries after `p_after`, oldest first, at most `p_limit`, with what the Activity
-- representation embeds (the actor's summary): the stream's one read, over
-- activity_project_seq_idx (read backwards).
CREATE FUNCTION activity_since(p_project_id uuid, p_after bigint, p_limit integer)
RETURNS TABLE (seq bigint, id uuid, project_id uuid, actor_id uuid, actor_email text,
               actor_display_name text, verb text, target_type text, target_id uuid,
               changes jsonb, created_at timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT a.seq, a.id, a.project_id, u.id, u.email, u.display_name, a.verb, a.target_type,
           a.target_id, a.changes, a.created_at
    FROM activity a JOIN users u ON u.id = a.actor_id
    WHERE a.project_id = p_project_id AND a.seq > p_after
    ORDER BY a.seq
    LIMIT p_limit
$$;

-- Where a stream without Last-Event-ID starts: the project's newest entry (0 when none).
CREATE FUNCTION activity_head(p_project_id uuid) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(seq), 0) FROM activity WHERE project_id = p_project_id
$$;

-- ------------------------------------------------------------------------ notifications

-- ON DELETE, and why:
-- * user_id CASCADE: an inbox belongs to its user and goes with the account.
-- * project_id CASCADE: deleting a project deletes its history (activity does the same), and
--   a notification about a project that no longer exists leads nowhere.
-- * actor_id no action, as activity.actor_id: a user with history is not deleted behind it
--   (the API deletes no user; an operator has to decide what the history becomes).
-- * task_id has no foreign key, as activity.target_id: "you were assigned X" stays true
--   after X is deleted (the recipient then gets a 404 for the task, like any reader of the
--   activity trail), and deleting a task need not look for notifications.
CREATE TABLE notifications (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('task.assigned')),
    task_id    uuid NOT NULL,
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    actor_id   uuid NOT NULL REFERENCES users (id),
    -- `read` on the wire is `read_at IS NOT NULL`; the time is kept for operators.
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- GET /me/notifications: keyset newest first per user (created_at, then id, descending) ...
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at, id);
-- ... and with unread=true, only the unread ones (usually few) in the same order.
CREATE INDEX notifications_user_unread_idx ON notifications (user_id, created_at, id)
    WHERE read_at IS NULL;
-- The foreign keys' cascades look rows up by project (a user's are found by the indexes above).
CREATE INDEX notifications_project_idx ON notifications (project_id);
CREATE INDEX notifications_actor_idx ON notifications (actor_id);

-- ------------------------------------------------------------------------ webhook outbox

-- One row per notification, written in the notification's transaction (so a notification is
-- never lost nor sent for a rolled-back change), delivered after the commit by a worker in
-- some server process (shared/webhooks.py). No foreign key to notifications: what is owed to
-- the receiver is owed even if the project is deleted meanwhile, and the body is frozen here.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id uuid NOT NULL UNIQUE,
    -- The Standard Webhooks `webhook-id`: the same on every attempt, the receiver's
    -- idempotency key.
    webhook_id      text NOT NULL UNIQUE,
    -- The exact bytes that are signed and sent (UTF-8 JSON), the same on every attempt.
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'gone')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The lease of the worker sending it now: a worker that dies mid-send leaves the row to
    -- others once locked_until has passed; lease_token fences a late outcome of an expired
    -- lease (it is recorded only by the holder of the current lease).
    locked_until    timestamptz,
    lease_token     uuid,
    last_attempt_at timestamptz,
    last_status     smallint,  -- the receiver's HTTP status of the last attempt, if it answered
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
-- "Due": pending, in next-attempt order (the claim and the worker's "when next" read it).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- `quartet webhooks`: the failed ones (pending ones come from the index above).
CREATE INDEX webhook_deliveries_failed_idx ON webhook_deliveries (created_at)
    WHERE status = 'failed';

-- Called in the assignment's transaction (createTask, updateTask) with the task's new
-- assignee: writes the `task.assigned` notification unless there is no assignee or the actor
-- assigned the task to themselves, and with p_webhook (NOTIFY_WEBHOOK_URL is set) its outbox
-- row, then wakes the delivery workers at commit. Returns the notification's id, or NULL.
-- The body is the Standard Webhooks envelope {type, timestamp, data}; data is the
-- Notification as GET /me/notifications shows it at creation, plus its recipient.
CREATE FUNCTION notify_task_assigned(p_task_id uuid, p_project_id uuid, p_assignee_id uuid,
                                     p_actor_id uuid, p_webhook boolean)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    created notifications%ROWTYPE;
    stamp text;
BEGIN
    IF p_assignee_id IS NULL OR p_assignee_id = p_actor_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO notifications (user_id, kind, task_id, project_id, actor_id)
    VALUES (p_assignee_id, 'task.assigned', p_task_id, p_project_id, p_actor_id)
    RETURNING * INTO created;
    IF p_webhook THEN
        stamp := to_char(created.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
        INSERT INTO webhook_deliveries (notification_id, webhook_id, body)
        SELECT created.id, 'msg_' || replace(created.id::text, '-', ''),
               jsonb_build_object(
                   'type', created.kind,
                   'timestamp', stamp,
                   'data', jsonb_build_object(
                       'id', created.id,
                       'kind', created.kind,
                       'task_id', created.task_id,
                       'project_id', created.project_id,
                       'actor', jsonb_build_object('id', actor.id, 'email', actor.email,
                                                   'display_name', actor.display_name),
                       'read', false,
                       'created_at', stamp,
                       'recipient', jsonb_build_object('id', recipient.id,
                                                       'email', recipient.email,
                                                       'display_name', recipient.display_name)
                   ))::text
        FROM users actor, users recipient
        WHERE actor.id = p_actor_id AND recipient.id = p_assignee_id;
        PERFORM pg_notify('quartet_webhooks', '');
    END IF;
    RETURN created.id;
END $$;

-- Claims up to p_limit due deliveries for p_lease: rows another worker is claiming right now
-- are skipped (SKIP LOCKED), rows under a live lease are not due. The attempt is counted at the
-- claim, so a worker that dies mid-send has still used one.
CREATE FUNCTION webhook_claim(p_limit integer, p_lease interval)
RETURNS TABLE (id bigint, webhook_id text, body text, attempts integer,
               created_at timestamptz, lease_token uuid)
LANGUAGE sql AS $$
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, locked_until = now() + p_lease,
        lease_token = gen_random_uuid(), last_attempt_at = now()
    FROM (SELECT w.id FROM webhook_deliveries w
          WHERE w.status = 'pending' AND w.next_attempt_at <= now()
            AND (w.locked_until IS NULL OR w.locked_until <= now())
          ORDER BY w.next_attempt_at
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) due
    WHERE d.id = due.id
    RETURNING d.id, d.webhook_id, d.body, d.attempts, d.created_at, d.lease_token
$$;

-- The outcome of an attempt, recorded only by the holder of the current lease (true), else
-- ignored (false: the lease expired and another worker has the row). p_status 'pending' with
-- p_next_attempt_at schedules a retry; 'delivered', 'failed' and 'gone' are final.
CREATE FUNCTION webhook_record(p_id bigint, p_lease_token uuid, p_status text,
                               p_next_attempt_at timestamptz, p_http_status smallint,
                               p_error text)
RETURNS boolean LANGUAGE sql AS $$
    UPDATE webhook_deliveries
    SET status = p_status,
        next_attempt_at = coalesce(p_next_attempt_at, next_attempt_at),
        locked_until = NULL, lease_token = NULL,
        last_status = p_http_status, last_error = p_error,
        delivered_at = CASE WHEN p_status = 'delivered' THEN now() END
    WHERE id = p_id AND lease_token = p_lease_token
    RETURNING true
$$;

-- Seconds until the next delivery falls due (NULL: none pending): how long a worker may sleep
-- when no NOTIFY comes.
CREATE FUNCTION webhook_next_due() RETURNS double precision LANGUAGE sql STABLE AS $$
    SELECT greatest(extract(epoch FROM min(greatest(next_attempt_at,
                                                    coalesce(locked_until, next_attempt_at)))
                                       - now()), 0)::double precision
    FROM webhook_deliveries WHERE status = 'pending'
$$;
