"""The benchmark's data set: deterministic, realistic, loaded with set-based SQL in seconds.

Every id is `md5(kind:n)` and every value a function of a row's number, so two loads of one
`DatasetSpec` are equal row for row (`fingerprint()` proves it), whatever server loads them.
All users share one argon2id hash at the production profile, made once with a fixed salt, so a
`login` costs what it costs in production and the load stays fast and reproducible.

Projects (the bench owner is the owner of every one):
- `hot`: the project the read scenarios use (list-tasks, get-task, the reads of `mixed`);
- `scale-…`: the same kind of project at other sizes, for the scale curve;
- `write`: the target of every write (create-task, patch-task, the writes of `mixed`), with a
  pool of tasks to patch, a disjoint pool of tasks to comment on and one `check` task per
  server for the equal-JSON checks — the read projects never change during a session;
- ordinary projects, newest of all, which fill the bench owner's first page of projects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import psycopg

from shared.database import normalise
from shared.migrate import migrate

BENCH_PASSWORD = "quartet-bench-password-0123456789"
OWNER_EMAIL = "bench-owner@example.com"
# The production argon2id parameters (shared.passwords: RFC 9106 low-memory), a fixed salt so the
# data set is byte-for-byte reproducible.
_HASH_SALT = b"quartet-bench-16"  # 16 bytes: the default salt length, so no rehash

LABELS = [
    ("bug", "#D73A4A"),
    ("feature", "#0E8A16"),
    ("docs", "#1D76DB"),
    ("ui", "#FBCA04"),
    ("backend", "#5319E7"),
    ("perf", "#B60205"),
    ("security", "#000000"),
    ("chore", "#C5DEF5"),
]
_BASE = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
CHECK_TASKS = 8  # one per server of a session (4 implementations + 2 floors), with room


@dataclass(frozen=True, slots=True)
class ProjectSpec:
    key: str
    tasks: int
    members: int
    comment_every: int  # tasks i with i % comment_every == 1 get (i // comment_every) % 3 + 1


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    users: int = 200
    hot_tasks: int = 10_000
    scale_tasks: tuple[int, ...] = (1_000, 100_000)
    write_tasks: int = 2_000
    patch_pool: int = 1_024
    comment_pool: int = 512
    ordinary_projects: int = 46
    ordinary_tasks: int = 400
    members_per_project: int = 12

    def projects(self) -> list[ProjectSpec]:
        """Oldest first: the ordinary projects come last, so they are the owner's first page."""
        members = min(self.members_per_project, self.users - 1)
        specs = [ProjectSpec(f"scale-{size}", size, members, 4) for size in self.scale_tasks]
        specs.append(ProjectSpec("hot", self.hot_tasks, members, 2))
        specs.append(ProjectSpec("write", self.write_tasks + CHECK_TASKS, members, 4))
        specs += [
            ProjectSpec(f"p{index:02d}", self.ordinary_tasks, members, 3)
            for index in range(self.ordinary_projects)
        ]
        return specs

    @property
    def total_tasks(self) -> int:
        return sum(project.tasks for project in self.projects())


SMALL = DatasetSpec(
    users=14,
    hot_tasks=300,
    scale_tasks=(50, 600),
    write_tasks=120,
    patch_pool=64,
    comment_pool=32,
    ordinary_projects=3,
    ordinary_tasks=25,
    members_per_project=6,
)


def bench_uuid(kind: str, number: int) -> str:
    """The id the SQL below gives row `number` of `kind` (md5 of 'quartet-bench:kind:n')."""
    digest = hashlib.md5(f"quartet-bench:{kind}:{number}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def password_hash() -> str:
    from argon2 import PasswordHasher, profiles

    hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
    return hasher.hash(BENCH_PASSWORD, salt=_HASH_SALT)


@dataclass(slots=True)
class LoadedProject:
    key: str
    id: str
    tasks: int
    first_task: int  # global number of its task 0
    members: list[str]
    labels: list[str]  # label ids in LABELS order

    def task_id(self, index: int) -> str:
        return bench_uuid("task", self.first_task + index)


@dataclass(slots=True)
class Dataset:
    """What the scenarios need to know about the loaded data."""

    spec: DatasetSpec
    owner_id: str
    user_ids: list[str]
    projects: dict[str, LoadedProject] = field(default_factory=dict)

    def project(self, key: str) -> LoadedProject:
        return self.projects[key]

    def patch_pool(self) -> list[str]:
        write = self.projects["write"]
        return [write.task_id(CHECK_TASKS + i) for i in range(self.spec.patch_pool)]

    def comment_pool(self) -> list[str]:
        write = self.projects["write"]
        start = CHECK_TASKS + self.spec.patch_pool
        return [write.task_id(start + i) for i in range(self.spec.comment_pool)]

    def check_task(self, slot: int) -> str:
        return self.projects["write"].task_id(slot)

    def summary(self) -> dict[str, object]:
        return {
            "users": len(self.user_ids),
            "projects": len(self.projects),
            "tasks": self.spec.total_tasks,
            "tasks_per_project": {
                key: p.tasks for key, p in self.projects.items() if not key.startswith("p")
            },
            "ordinary_projects": {
                "count": self.spec.ordinary_projects,
                "tasks_each": self.spec.ordinary_tasks,
            },
            "members_per_project": self.spec.members_per_project,
            "labels_per_project": len(LABELS),
        }


_TASKS_SQL = """
INSERT INTO tasks (id, project_id, title, description, status, priority, assignee_id, due_date,
                   created_by, created_at, updated_at, version)
SELECT pg_temp.bench_uuid('task', %(first)s + i), %(project)s,
       (ARRAY['Fix','Write','Review','Refactor','Design','Test','Document','Plan'])[1 + i %% 8]
         || ' ' || (ARRAY['the login flow','the search page','the billing export',
                          'the onboarding email','API rate limits','the cache layer',
                          'the mobile layout','the audit log','the release notes',
                          'the error pages'])[1 + (i / 8) %% 10] || ' #' || i,
       CASE i %% 4 WHEN 0 THEN ''
            ELSE repeat('Steps, context and acceptance criteria for this piece of work. ',
                        1 + i %% 4) END,
       CASE WHEN i %% 10 < 5 THEN 'todo' WHEN i %% 10 < 7 THEN 'in_progress' ELSE 'done' END,
       (ARRAY['low','medium','high','urgent'])[1 + (i * 7 + i / 3) %% 4],
       CASE WHEN i %% 4 = 3 THEN NULL
            ELSE (%(members)s::uuid[])[1 + (i * 5) %% %(member_count)s] END,
       CASE WHEN i %% 5 < 2 THEN NULL ELSE date '2026-03-01' + (i * 13) %% 120 END,
       CASE WHEN i %% 3 = 0 THEN %(owner)s::uuid
            ELSE (%(members)s::uuid[])[1 + i %% %(member_count)s] END,
       %(start)s::timestamptz + i * interval '61 seconds'
         + (i %% 7) * interval '123457 microseconds',
       %(start)s::timestamptz + i * interval '61 seconds'
         + (i %% 7) * interval '123457 microseconds'
         + CASE WHEN i %% 6 = 0 THEN interval '2 hours' ELSE interval '0' END,
       CASE WHEN i %% 6 = 0 THEN 2 ELSE 1 END
FROM generate_series(%(skip)s, %(count)s - 1) AS i
"""

# The check tasks: identical but for id and created_at, so every server's answer about its own
# check task is equal JSON once ids and timestamps are masked.
_CHECK_TASKS_SQL = """
INSERT INTO tasks (id, project_id, title, description, status, priority, assignee_id, due_date,
                   created_by, created_at, updated_at, version)
SELECT pg_temp.bench_uuid('task', %(first)s + i), %(project)s, 'Check task',
       'The equal-JSON check of one server.', 'todo', 'medium', %(assignee)s, date '2026-04-01',
       %(owner)s, %(start)s::timestamptz + i * interval '1 second',
       %(start)s::timestamptz + i * interval '1 second', 1
FROM generate_series(0, %(count)s - 1) AS i
"""

_TASK_LABELS_SQL = """
INSERT INTO task_labels (task_id, label_id)
SELECT pg_temp.bench_uuid('task', %(first)s + i), (%(labels)s::uuid[])[1 + (i + k * 3) %% 8]
FROM generate_series(%(skip)s, %(count)s - 1) AS i, generate_series(0, 2) AS k
WHERE k < i %% 4
"""

_COMMENTS_SQL = """
INSERT INTO comments (id, task_id, author_id, body, created_at, updated_at)
SELECT pg_temp.bench_uuid('comment', (%(first)s + i) * 4 + k),
       pg_temp.bench_uuid('task', %(first)s + i),
       (%(members)s::uuid[])[1 + (i + k) %% %(member_count)s],
       'Looked into this: ' || (ARRAY['reproduced it locally.', 'needs a design review.',
                                      'fixed on the branch, waiting for CI.'])[1 + k],
       %(start)s::timestamptz + i * interval '61 seconds' + (k + 1) * interval '17 minutes',
       %(start)s::timestamptz + i * interval '61 seconds' + (k + 1) * interval '17 minutes'
FROM generate_series(%(skip)s, %(count)s - 1) AS i, generate_series(0, 2) AS k
WHERE i %% %(every)s = 1 AND k <= (i / %(every)s) %% 3
"""

_ACTIVITY_SQL = """
INSERT INTO activity (id, project_id, actor_id, verb, target_type, target_id, changes, created_at)
SELECT pg_temp.bench_uuid('activity',
                          %(offset)s + row_number() OVER (ORDER BY created_at, target_id)),
       project_id, actor_id, verb, target_type, target_id, '{}'::jsonb, created_at
FROM (
    SELECT t.project_id, t.created_by AS actor_id, 'task.created' AS verb, 'task' AS target_type,
           t.id AS target_id, t.created_at FROM tasks t
    UNION ALL
    SELECT t.project_id, c.author_id, 'comment.created', 'comment', c.id, c.created_at
    FROM comments c JOIN tasks t ON t.id = c.task_id
) AS entries
ORDER BY created_at, target_id
"""


# The per-project task counts the implementations read (migration 0002), counted once from the
# loaded rows: the triggers that keep them do not fire while loading as a replica (below), and
# where they do fire, this sets the same numbers.
_TASK_COUNTS_SQL = """
INSERT INTO project_task_counts (project_id, todo, in_progress, done)
SELECT p.id,
       count(t.id) FILTER (WHERE t.status = 'todo'),
       count(t.id) FILTER (WHERE t.status = 'in_progress'),
       count(t.id) FILTER (WHERE t.status = 'done')
FROM projects p LEFT JOIN tasks t ON t.project_id = p.id
GROUP BY p.id
ON CONFLICT (project_id) DO UPDATE
SET todo = excluded.todo, in_progress = excluded.in_progress, done = excluded.done
"""


def _execute(conn: psycopg.Connection, query: str, params: dict[str, object]) -> int:
    return conn.execute(query, params).rowcount


def load(database_url: str, spec: DatasetSpec = DatasetSpec()) -> Dataset:
    """Migrate an empty database and load `spec` into it; VACUUM ANALYZE at the end."""
    migrate(database_url)
    url = normalise(database_url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE FUNCTION pg_temp.bench_uuid(kind text, n bigint) RETURNS uuid"
            " LANGUAGE sql IMMUTABLE AS"
            " $$ SELECT md5('quartet-bench:' || kind || ':' || n)::uuid $$"
        )
        if conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]:
            raise RuntimeError("the benchmark data set needs an empty database")
        _fast_load_settings(conn)
        deferred_indexes = _drop_secondary_indexes(conn)
        hashed = password_hash()
        user_ids = [bench_uuid("user", n) for n in range(spec.users)]
        conn.execute(
            "INSERT INTO users (id, email, display_name, password_hash, is_admin, created_at)"
            " SELECT pg_temp.bench_uuid('user', n),"
            "  CASE n WHEN 0 THEN %(owner_email)s"
            "   ELSE 'bench-user-' || lpad(n::text, 3, '0') || '@example.com' END,"
            "  CASE n WHEN 0 THEN 'Bench Owner' ELSE 'Bench User ' || lpad(n::text, 3, '0') END,"
            "  %(hash)s, false, %(base)s::timestamptz + n * interval '1 minute'"
            " FROM generate_series(0, %(users)s - 1) AS n",
            {"owner_email": OWNER_EMAIL, "hash": hashed, "base": _BASE, "users": spec.users},
        )
        dataset = Dataset(spec, user_ids[0], user_ids)
        first_task = 0
        activity_offset = 0
        for number, project in enumerate(spec.projects()):
            loaded = _load_project(conn, spec, dataset, number, project, first_task)
            activity_offset += _load_project_activity(conn, dataset, loaded, activity_offset)
            dataset.projects[project.key] = loaded
            first_task += project.tasks
        _execute(conn, _ACTIVITY_SQL, {"offset": activity_offset})  # tasks and comments
        conn.execute(_TASK_COUNTS_SQL)
        for definition in deferred_indexes:  # one sort per index beats row-by-row upkeep
            conn.execute(definition)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return dataset


_BULK_TABLES = ("tasks", "task_labels", "comments", "activity")


def _fast_load_settings(conn: psycopg.Connection) -> None:
    """Skip the triggers while loading when the role may: the foreign-key checks (the generator
    only writes valid references) and the task-count upkeep (counted once at the end); build
    indexes with room to sort."""
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    conn.execute("SET LOCAL synchronous_commit = off")
    superuser = conn.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if superuser and superuser[0]:
        conn.execute("SET LOCAL session_replication_role = replica")


def _drop_secondary_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the bulk tables' indexes that back no constraint; return how to recreate them."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(_BULK_TABLES),),
    ).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [definition for _, definition in rows]


def _load_project(
    conn: psycopg.Connection,
    spec: DatasetSpec,
    dataset: Dataset,
    number: int,
    project: ProjectSpec,
    first_task: int,
) -> LoadedProject:
    project_id = bench_uuid("project", number)
    created = _BASE + dt.timedelta(days=1 + number)
    conn.execute(
        "INSERT INTO projects (id, name, description, created_by, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (
            project_id,
            f"Bench {project.key}",
            f"Benchmark project {project.key}: {project.tasks} tasks.",
            dataset.owner_id,
            created,
            created,
        ),
    )
    # Members: user 0 owns every project; others in a stride over the rest of the users.
    others = spec.users - 1
    members = [
        dataset.user_ids[1 + (number * 37 + k * 11) % others] for k in range(project.members)
    ]
    members = list(dict.fromkeys(members))  # a stride that is not coprime repeats users
    roles = ["editor" if k % 3 else "viewer" for k in range(len(members))]
    conn.execute(
        "INSERT INTO project_members (project_id, user_id, role, added_at)"
        " SELECT %s, u, r, %s FROM unnest(%s::uuid[], %s::text[]) AS m(u, r)",
        (project_id, created, [dataset.owner_id, *members], ["owner", *roles]),
    )
    labels = [bench_uuid("label", number * len(LABELS) + k) for k in range(len(LABELS))]
    conn.execute(
        "INSERT INTO labels (id, project_id, name, color, created_at)"
        " SELECT l, %s, n, c, %s FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS x(l, n, c)",
        (project_id, created, labels, [name for name, _ in LABELS], [color for _, color in LABELS]),
    )
    params: dict[str, object] = {
        "first": first_task,
        "project": project_id,
        "members": members,
        "member_count": len(members),
        "owner": dataset.owner_id,
        "labels": labels,
        "start": created + dt.timedelta(minutes=5),
        "count": project.tasks,
        "skip": 0,
        "every": project.comment_every,
    }
    if project.key == "write":  # its first tasks are the check tasks
        _execute(conn, _CHECK_TASKS_SQL, {**params, "count": CHECK_TASKS, "assignee": members[0]})
        params["skip"] = CHECK_TASKS
    _execute(conn, _TASKS_SQL, params)
    _execute(conn, _TASK_LABELS_SQL, params)
    _execute(conn, _COMMENTS_SQL, params)
    return LoadedProject(project.key, project_id, project.tasks, first_task, members, labels)


def _load_project_activity(
    conn: psycopg.Connection, dataset: Dataset, project: LoadedProject, offset: int
) -> int:
    """project.created, member.added, label.created (task and comment entries come last)."""
    created = conn.execute(
        "SELECT created_at FROM projects WHERE id = %s", (project.id,)
    ).fetchone()[0]
    entries = (
        [("project.created", "project", project.id)]
        + [("member.added", "member", member) for member in project.members]
        + [("label.created", "label", label) for label in project.labels]
    )
    conn.execute(
        "INSERT INTO activity (id, project_id, actor_id, verb, target_type, target_id,"
        " created_at)"
        " SELECT pg_temp.bench_uuid('activity', %s + o), %s, %s, v, t, x, %s"
        " FROM unnest(%s::text[], %s::text[], %s::uuid[]) WITH ORDINALITY AS e(v, t, x, o)",
        (
            offset,
            project.id,
            dataset.owner_id,
            created,
            [e[0] for e in entries],
            [e[1] for e in entries],
            [e[2] for e in entries],
        ),
    )
    return len(entries)


def fingerprint(database_url: str) -> str:
    """A digest of every row of the data set's tables (generated columns and `seq` included)."""
    digest = hashlib.sha256()
    with psycopg.connect(normalise(database_url)) as conn:
        for table, order in (
            ("users", "id"),
            ("projects", "id"),
            ("project_members", "project_id, user_id"),
            ("labels", "id"),
            ("tasks", "id"),
            ("task_labels", "task_id, label_id"),
            ("comments", "id"),
            ("activity", "seq"),
            ("project_task_counts", "project_id"),
        ):
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, '|'"
                f" ORDER BY {order}), '')) FROM {table} AS x"
            ).fetchone()
            digest.update(f"{table}:{row[0]}:{row[1]};".encode())
    return digest.hexdigest()[:32]
