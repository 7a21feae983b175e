"""A realistic, deterministic data set loaded with SQL in seconds (generate_series), for tests
that need the database at the size where plans matter.

One owner (user 0) is a member of every project. Project 0, "scale", is the newest (first on
the owner's first page) and holds 100,000 tasks; task number n's fields follow from n, so each
filter's share of the tasks is known exactly and spread evenly along the list:

- status: n % 10 < 5 todo (50%), < 8 in_progress, else done;
- priority: low, medium, high, urgent by n % 4 (high or urgent: 50%);
- due_date: NULL when n % 5 = 0, else 2025-01-01 + (37 n mod 730) days;
- assignee: NULL when n % 41 = 0, else member n % 41 (of 40 editors);
- title: "Task n alpha" for even n (50%), "... beta" otherwise, " zeta" added when n % 1000 = 7;
- labels: every third task one of the 20 labels, every seventh another;
- comments: the newest task ("busy") has 5,000, every tenth task 1-3;
- activity: 45,000 entries in the scale project (a task.created per task of the first 40,000,
  a comment.created per comment of the busy task), a project.created in every project.
Created times are distinct and grow with n (task 100,000 is the newest). The other 49 projects
have 200 tasks, 3 labels and 5 members each.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from shared.passwords import hash_password

SCALE_TASKS = 100_000
SCALE_EDITORS = 40
BUSY_COMMENTS = 5_000
ACTIVITY_TASK_ENTRIES = 40_000
PASSWORD = "plan-password-0123456789"  # every generated user's
EMAIL = "plan-user-{:03}@example.com"

# Every id is derived from what the row is (md5 of its kind and numbers): the data is the same
# on every run and rows refer to each other without lookups.
_LOAD = """
INSERT INTO users (id, email, display_name, password_hash, created_at)
SELECT md5('user-' || n)::uuid, format('plan-user-%%s@example.com', lpad(n::text, 3, '0')),
       format('Plan User %%s', lpad(n::text, 3, '0')), %(hash)s, %(base)s + n * interval '1 minute'
FROM generate_series(0, 199) AS n;

INSERT INTO projects (id, name, created_by, created_at, updated_at)
SELECT md5('project-' || pn)::uuid,
       CASE pn WHEN 0 THEN 'Scale project' ELSE format('Project %%s', pn) END,
       md5('user-0')::uuid, %(base)s - pn * interval '1 hour', %(base)s - pn * interval '1 hour'
FROM generate_series(0, 49) AS pn;

INSERT INTO project_members (project_id, user_id, role, added_at)
SELECT md5('project-' || pn)::uuid, md5('user-0')::uuid, 'owner', %(base)s
FROM generate_series(0, 49) AS pn
UNION ALL
SELECT md5('project-0')::uuid, md5('user-' || k)::uuid, 'editor', %(base)s
FROM generate_series(1, %(editors)s) AS k
UNION ALL
SELECT md5('project-' || pn)::uuid, md5('user-' || (1 + (pn * 4 + k) %% 199))::uuid, 'viewer',
       %(base)s
FROM generate_series(1, 49) AS pn, generate_series(0, 3) AS k;

INSERT INTO labels (id, project_id, name, color, created_at)
SELECT md5('label-' || pn || '-' || k)::uuid, md5('project-' || pn)::uuid,
       format('label-%%s', lpad(k::text, 2, '0')), '#336699', %(base)s
FROM generate_series(0, 49) AS pn, generate_series(0, 19) AS k WHERE pn = 0 OR k < 3;

INSERT INTO tasks (id, project_id, title, status, priority, assignee_id, due_date, created_by,
                   created_at, updated_at)
SELECT md5('task-0-' || n)::uuid, md5('project-0')::uuid,
       format('Task %%s %%s%%s', n, CASE WHEN n %% 2 = 0 THEN 'alpha' ELSE 'beta' END,
              CASE WHEN n %% 1000 = 7 THEN ' zeta' ELSE '' END),
       CASE WHEN n %% 10 < 5 THEN 'todo' WHEN n %% 10 < 8 THEN 'in_progress' ELSE 'done' END,
       (ARRAY['low', 'medium', 'high', 'urgent'])[n %% 4 + 1],
       CASE WHEN n %% 41 = 0 THEN NULL ELSE md5('user-' || (n %% 41))::uuid END,
       CASE WHEN n %% 5 = 0 THEN NULL ELSE date '2025-01-01' + (n * 37) %% 730 END,
       md5('user-' || (n %% 41))::uuid,
       %(base)s - (%(tasks)s - n) * interval '1 second',
       %(base)s - (%(tasks)s - n) * interval '1 second'
FROM generate_series(1, %(tasks)s) AS n;

INSERT INTO tasks (id, project_id, title, status, priority, due_date, created_by, created_at,
                   updated_at)
SELECT md5('task-' || pn || '-' || n)::uuid, md5('project-' || pn)::uuid,
       format('Task %%s of project %%s', n, pn),
       (ARRAY['todo', 'in_progress', 'done'])[n %% 3 + 1],
       (ARRAY['low', 'medium', 'high', 'urgent'])[n %% 4 + 1],
       CASE WHEN n %% 5 = 0 THEN NULL ELSE date '2025-01-01' + (n * 37) %% 730 END,
       md5('user-0')::uuid, %(base)s - pn * interval '1 hour' + n * interval '1 second',
       %(base)s - pn * interval '1 hour' + n * interval '1 second'
FROM generate_series(1, 49) AS pn, generate_series(1, 200) AS n;

INSERT INTO task_labels (task_id, label_id)
SELECT md5('task-0-' || n)::uuid, md5('label-0-' || ((n / 3) %% 20))::uuid
FROM generate_series(3, %(tasks)s, 3) AS n
UNION
SELECT md5('task-0-' || n)::uuid, md5('label-0-' || ((n / 7 + 10) %% 20))::uuid
FROM generate_series(7, %(tasks)s, 7) AS n;

INSERT INTO comments (id, task_id, author_id, body, created_at, updated_at)
SELECT md5('comment-' || %(tasks)s || '-' || k)::uuid, md5('task-0-' || %(tasks)s)::uuid,
       md5('user-' || (k %% 41))::uuid, format('Comment %%s on the busy task', k),
       %(base)s + k * interval '1 second', %(base)s + k * interval '1 second'
FROM generate_series(1, %(busy)s) AS k
UNION ALL
SELECT md5('comment-' || n || '-' || k)::uuid, md5('task-0-' || n)::uuid,
       md5('user-' || ((n + k) %% 41))::uuid, format('Comment %%s', k),
       %(base)s - (%(tasks)s - n - k) * interval '1 second',
       %(base)s - (%(tasks)s - n - k) * interval '1 second'
FROM generate_series(1, %(tasks)s, 10) AS n, generate_series(1, 3) AS k
WHERE k <= 1 + (n / 10) %% 3;

INSERT INTO activity (id, project_id, actor_id, verb, target_type, target_id, created_at)
SELECT md5('activity-' || pn)::uuid, md5('project-' || pn)::uuid, md5('user-0')::uuid,
       'project.created', 'project', md5('project-' || pn)::uuid,
       %(base)s - pn * interval '1 hour'
FROM generate_series(49, 0, -1) AS pn;

INSERT INTO activity (id, project_id, actor_id, verb, target_type, target_id, created_at)
SELECT md5('activity-0-' || n)::uuid, md5('project-0')::uuid,
       md5('user-' || (n %% 41))::uuid, 'task.created', 'task', md5('task-0-' || n)::uuid,
       %(base)s - (%(tasks)s - n) * interval '1 second'
FROM generate_series(1, %(task_entries)s) AS n
UNION ALL
SELECT md5('activity-' || %(tasks)s || '-' || k)::uuid, md5('project-0')::uuid,
       md5('user-' || (k %% 41))::uuid, 'comment.created', 'comment',
       md5('comment-' || %(tasks)s || '-' || k)::uuid, %(base)s + k * interval '1 second'
FROM generate_series(1, %(busy)s) AS k;
"""


_BULK_TABLES = ("tasks", "task_labels", "comments", "activity")
_SECONDARY_INDEXES = """
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = ANY (%s::regclass[])
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""


@dataclass(frozen=True)
class ScaleData:
    database_url: str
    load_seconds: float
    owner_email: str
    scale_project: str
    busy_task: str  # the newest task of the scale project, with BUSY_COMMENTS comments
    plain_task: str  # a task of the scale project without comments
    assignee: str  # an editor of the scale project (a sparse assignee_id filter)
    label: str  # a label of the scale project (a sparse label_id filter)

    @property
    def password(self) -> str:
        return PASSWORD


def load(database_url: str) -> ScaleData:
    """Fill a migrated database (with its admin); ANALYZE it."""
    started = time.monotonic()
    base = datetime(2025, 6, 1, tzinfo=UTC)
    # Client-side binding: the load is several statements in one round trip.
    with psycopg.connect(database_url, cursor_factory=psycopg.ClientCursor) as conn:
        # Secondary indexes are built once after the load (a sorted build each) instead of
        # being maintained row by row, which halves the load; their definitions are read back
        # from the catalog, so they are exactly the migrations'. Keys and foreign keys stay.
        indexes = conn.execute(_SECONDARY_INDEXES, (list(_BULK_TABLES),)).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute(
            _LOAD,
            {
                "hash": hash_password(PASSWORD),  # real argon2id: users can log in
                "base": base,
                "editors": SCALE_EDITORS,
                "tasks": SCALE_TASKS,
                "busy": BUSY_COMMENTS,
                "task_entries": ACTIVITY_TASK_ENTRIES,
            },
        )
        for _, definition in indexes:
            conn.execute(definition)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        ids = conn.execute(
            """
            SELECT p.id,
                   (SELECT id FROM tasks WHERE project_id = p.id
                    ORDER BY created_at DESC LIMIT 1),
                   (SELECT id FROM tasks t WHERE project_id = p.id
                    AND NOT EXISTS (SELECT FROM comments c WHERE c.task_id = t.id)
                    ORDER BY created_at DESC LIMIT 1),
                   (SELECT id FROM users WHERE email = %s),
                   (SELECT id FROM labels WHERE project_id = p.id ORDER BY name LIMIT 1)
            FROM projects p WHERE p.name = 'Scale project'
            """,
            (EMAIL.format(1),),
        ).fetchone()
    assert ids is not None
    scale, busy, plain, assignee, label = (str(uuid.UUID(str(value))) for value in ids)
    return ScaleData(
        database_url,
        time.monotonic() - started,
        EMAIL.format(0),
        scale,
        busy,
        plain,
        assignee,
        label,
    )
