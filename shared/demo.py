"""Demo data: a small team, one project with labels, tasks, comments and their activity."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
from psycopg.types.json import Jsonb

from shared.database import normalise
from shared.users import insert_user

DEMO_PASSWORD = "quartet-demo-password"
DEMO_USERS = [  # (email, display name, is_admin, role in the demo project)
    ("ada@example.com", "Ada Lovelace", True, "owner"),
    ("grace@example.com", "Grace Hopper", False, "editor"),
    ("linus@example.com", "Linus Torvalds", False, "viewer"),
]
_LABELS = [("bug", "#D73A4A"), ("feature", "#0E8A16"), ("docs", "#1D76DB")]
_TASKS = [  # (title, status, priority, assignee index, due in days, labels)
    ("Write the OpenAPI contract", "done", "high", 0, -7, ["docs"]),
    ("Compare validation error bodies", "in_progress", "urgent", 1, 2, ["feature"]),
    ("Benchmark the task list endpoint", "todo", "medium", 1, 10, ["feature"]),
    ("Fix 405 responses without Allow", "todo", "high", None, None, ["bug"]),
    ("Document the concern map", "todo", "low", 2, 21, ["docs"]),
]


def credentials_line() -> str:
    email = DEMO_USERS[0][0]
    return f"{email} / {DEMO_PASSWORD}  (also grace@example.com, linus@example.com)"


def _activity(
    conn: psycopg.Connection,
    project_id: uuid.UUID,
    actor: uuid.UUID,
    verb: str,
    target_type: str,
    target_id: uuid.UUID,
) -> None:
    conn.execute(
        "INSERT INTO activity (project_id, actor_id, verb, target_type, target_id, changes)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (project_id, actor, verb, target_type, target_id, Jsonb({})),
    )


def seed(conn: psycopg.Connection) -> None:
    users = [
        insert_user(conn, email, name, DEMO_PASSWORD, is_admin=admin)
        for email, name, admin, _ in DEMO_USERS
    ]
    owner = users[0]
    project_id = conn.execute(
        "INSERT INTO projects (name, description, created_by) VALUES (%s, %s, %s) RETURNING id",
        ("Quartet launch", "Everything between the contract and the first benchmark.", owner),
    ).fetchone()[0]
    _activity(conn, project_id, owner, "project.created", "project", project_id)
    for user_id, (_, _, _, role) in zip(users, DEMO_USERS, strict=True):
        conn.execute(
            "INSERT INTO project_members (project_id, user_id, role) VALUES (%s, %s, %s)",
            (project_id, user_id, role),
        )
        if user_id != owner:
            _activity(conn, project_id, owner, "member.added", "member", user_id)
    labels: dict[str, uuid.UUID] = {}
    for name, color in _LABELS:
        labels[name] = conn.execute(
            "INSERT INTO labels (project_id, name, color) VALUES (%s, %s, %s) RETURNING id",
            (project_id, name, color),
        ).fetchone()[0]
        _activity(conn, project_id, owner, "label.created", "label", labels[name])
    today = dt.date.today()
    for title, status, priority, assignee, due_in, task_labels in _TASKS:
        task_id = conn.execute(
            "INSERT INTO tasks (project_id, title, status, priority, assignee_id, due_date,"
            " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (
                project_id,
                title,
                status,
                priority,
                users[assignee] if assignee is not None else None,
                today + dt.timedelta(days=due_in) if due_in is not None else None,
                owner,
            ),
        ).fetchone()[0]
        for label in task_labels:
            conn.execute(
                "INSERT INTO task_labels (task_id, label_id) VALUES (%s, %s)",
                (task_id, labels[label]),
            )
        _activity(conn, project_id, owner, "task.created", "task", task_id)
        if status == "in_progress":
            comment_id = conn.execute(
                "INSERT INTO comments (task_id, author_id, body) VALUES (%s, %s, %s) RETURNING id",
                (task_id, users[1], "DRF answers 400 by default; we map it to 422."),
            ).fetchone()[0]
            _activity(conn, project_id, users[1], "comment.created", "comment", comment_id)


def seed_if_empty(database_url: str) -> bool:
    """Load the demo data into a database that has no users yet. True if it did."""
    with psycopg.connect(normalise(database_url)) as conn:
        conn.execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
        if conn.execute("SELECT EXISTS (SELECT 1 FROM users)").fetchone()[0]:
            return False
        seed(conn)
        return True


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "credentials_line", "seed", "seed_if_empty"]
