"""The assistant's prompt: the project's open tasks and the question, as OpenAI chat messages.

Bounded whatever the project's size: at most MAX_TASKS open tasks (status other than done),
the most recently updated first, one line each with title, status, priority, due date and
assignee's display name, the description cut to DESCRIPTION_CHARS characters — so the system
message is at most ~50 × 600 characters, and the database sends at most 50 short rows.

The statement comes in two spellings of one query, columns in `TASK_COLUMNS` order:
`OPEN_TASKS` (SQLAlchemy Core, for asyncpg and psycopg sessions: `session.execute(OPEN_TASKS,
{"project_id": id})`) and `OPEN_TASKS_SQL` (a Django cursor: `cursor.execute(OPEN_TASKS_SQL,
[id])`). `messages(rows, question)` takes the rows of either."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select

from shared.orm import Task, User
from shared.vocabulary import TaskStatus

MAX_TASKS = 50
DESCRIPTION_CHARS = 200

# The order of the statement's columns, which messages() unpacks.
TASK_COLUMNS = ("title", "status", "priority", "due_date", "assignee", "description")

_assignee = User.__table__.alias("assignee")

OPEN_TASKS = (
    select(
        Task.title,
        Task.status,
        Task.priority,
        Task.due_date,
        _assignee.c.display_name.label("assignee"),
        # One character more than is shown, so a cut description can say it was cut; the rest
        # of a 10,000-character description never leaves the database.
        func.left(Task.description, literal_column(str(DESCRIPTION_CHARS + 1))).label(
            "description"
        ),
    )
    .select_from(Task)
    .outerjoin(_assignee, _assignee.c.id == Task.assignee_id)
    # Constants written into the SQL, not bound: with asyncpg's prepared statements PostgreSQL
    # may plan once for any parameters (a generic plan), and only a literal `status <> 'done'`
    # proves the partial index's predicate (migration 0007) there.
    .where(
        Task.project_id == bindparam("project_id"),
        Task.status != literal_column(f"'{TaskStatus.DONE.value}'"),
    )
    .order_by(Task.updated_at.desc(), Task.id.desc())
    .limit(literal_column(str(MAX_TASKS)))
)

# The same query for Django's cursor (psycopg's `%s` placeholder; one parameter, the project id;
# the constants written in, as above). Served by tasks_project_open_updated_idx (migration 0007).
OPEN_TASKS_SQL = f"""
SELECT t.title, t.status, t.priority, t.due_date, a.display_name AS assignee,
       left(t.description, {DESCRIPTION_CHARS + 1}) AS description
FROM tasks AS t
LEFT JOIN users AS a ON a.id = t.assignee_id
WHERE t.project_id = %s AND t.status <> '{TaskStatus.DONE.value}'
ORDER BY t.updated_at DESC, t.id DESC
LIMIT {MAX_TASKS}
""".strip()

SYSTEM_INSTRUCTIONS = (
    "You are the assistant of a project in Taskboard, a task tracker. Answer the user's "
    "question about the project from its open tasks listed below (at most "
    f"{MAX_TASKS}, most recently updated first; descriptions cut to {DESCRIPTION_CHARS} "
    "characters). If the list does not contain the answer, say so. Be brief."
)


def _one_line(text: str) -> str:
    """Whitespace (newlines included) folded to single spaces: one task, one line."""
    return " ".join(text.split())


def task_line(row: Sequence[Any]) -> str:
    title, status, priority, due_date, assignee, description = row
    due = due_date.isoformat() if isinstance(due_date, date) else (due_date or "none")
    line = (
        f"- {_one_line(title)} | status: {status} | priority: {priority} | due: {due} | "
        f"assignee: {_one_line(assignee) if assignee else 'unassigned'}"
    )
    description = description or ""
    cut = len(description) > DESCRIPTION_CHARS
    description = _one_line(description[:DESCRIPTION_CHARS])
    if description:
        line += f" | {description}{'…' if cut else ''}"
    return line


def system_prompt(rows: Iterable[Sequence[Any]]) -> str:
    lines = [task_line(row) for row in rows]
    return f"{SYSTEM_INSTRUCTIONS}\n\nOpen tasks:\n" + ("\n".join(lines) if lines else "(none)")


def messages(rows: Iterable[Sequence[Any]], question: str) -> list[dict[str, str]]:
    """One system message (instructions and the open tasks) and one user message (the question,
    as asked)."""
    return [
        {"role": "system", "content": system_prompt(rows)},
        {"role": "user", "content": question},
    ]
