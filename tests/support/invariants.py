"""What must hold in the database whatever interleaving of requests it went through, checked with
SQL on the server's database after races and outages (issue 13; contract/DECISIONS.md,
"Behaviour details" and "Locks")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import psycopg

# Each query returns the rows that break the rule; an empty result is the rule holding.
VIOLATIONS = {
    "a task is assigned to someone who is not a member of its project": """
        SELECT t.id, t.assignee_id FROM tasks t
        WHERE t.project_id = ANY(%(projects)s) AND t.assignee_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM project_members m
            WHERE m.project_id = t.project_id AND m.user_id = t.assignee_id)
    """,
    "a task carries a label of another project": """
        SELECT t.id, l.id FROM task_labels tl
        JOIN tasks t ON t.id = tl.task_id JOIN labels l ON l.id = tl.label_id
        WHERE t.project_id = ANY(%(projects)s) AND l.project_id <> t.project_id
    """,
    "a project has no owner": """
        SELECT p.id FROM projects p
        WHERE p.id = ANY(%(projects)s) AND NOT EXISTS (
            SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.role = 'owner')
    """,
    "a task's version bumps and its task.updated entries differ in number": """
        SELECT t.id, t.version, count(a.id) FROM tasks t
        LEFT JOIN activity a
            ON a.target_type = 'task' AND a.target_id = t.id AND a.verb = 'task.updated'
        WHERE t.project_id = ANY(%(projects)s)
        GROUP BY t.id, t.version HAVING t.version - 1 <> count(a.id)
    """,
    "a task has no task.created entry (a create half-applied)": """
        SELECT t.id FROM tasks t WHERE t.project_id = ANY(%(projects)s) AND NOT EXISTS (
            SELECT 1 FROM activity a
            WHERE a.target_type = 'task' AND a.target_id = t.id AND a.verb = 'task.created')
    """,
    "a comment has no comment.created entry (a create half-applied)": """
        SELECT c.id FROM comments c JOIN tasks t ON t.id = c.task_id
        WHERE t.project_id = ANY(%(projects)s) AND NOT EXISTS (
            SELECT 1 FROM activity a
            WHERE a.target_type = 'comment' AND a.target_id = c.id
              AND a.verb = 'comment.created')
    """,
    "a project's task counts disagree with its tasks": """
        SELECT p.id FROM projects p
        LEFT JOIN project_task_counts c ON c.project_id = p.id
        WHERE p.id = ANY(%(projects)s) AND (coalesce(c.todo, 0) <> (SELECT count(*) FROM tasks t
                                      WHERE t.project_id = p.id AND t.status = 'todo')
           OR coalesce(c.in_progress, 0) <> (SELECT count(*) FROM tasks t
                                      WHERE t.project_id = p.id AND t.status = 'in_progress')
           OR coalesce(c.done, 0) <> (SELECT count(*) FROM tasks t
                                      WHERE t.project_id = p.id AND t.status = 'done'))
    """,
}


def violations(db: psycopg.Connection, project_ids: Iterable[str]) -> dict[str, list[tuple]]:
    """Every rule broken within these projects, with (up to five of) the rows that break it.
    Scoped to the test's own projects: other tests share the server's database."""
    projects = [uuid.UUID(str(p)) for p in project_ids]
    found = {}
    for rule, query in VIOLATIONS.items():
        rows = db.execute(query + " LIMIT 5", {"projects": projects}).fetchall()
        if rows:
            found[rule] = rows
    return found


def assert_invariants(db: psycopg.Connection, project_ids: Iterable[str]) -> None:
    broken = violations(db, project_ids)
    assert not broken, "database invariants broken: " + "; ".join(
        f"{rule}: {rows}" for rule, rows in broken.items()
    )
