"""What the floors do per request, written once for both runtimes ("sans-IO").

A handler is a generator: it yields `Statement`s (and `Blocking` calls, e.g. argon2) and gets
their results back, then returns a `Reply`. The ASGI floor runs it over asyncpg, the WSGI floor
over psycopg 3; neither adds anything but its driver and its server. The statements are the ones
the implementations send for the same request, in the same order and of the same shape
(shared/selects.py: authentication, visibility joined to the caller's membership, the row locks
of contract/DECISIONS.md "Locks", the page, its labels; a transaction around writes), so a
floor's figure is what that work costs with no framework, no ORM and no validation library in
the way. Only the requests the scenarios send
are served; anything else is a 404 problem. Inputs are the benchmark's own, so validation is
limited to what keeps a bad request from becoming a 500.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from shared.changes import diff, request_form, task_request_form
from shared.cursors import DATE, DATE_NULLS_LAST, INT, TIMESTAMP, encode_cursor, scope
from shared.httputil import if_match_fails, like_escape, representation_etag, request_id
from shared.passwords import verify_password
from shared.settings import get_settings
from shared.timefmt import format_timestamp
from shared.tokens import InvalidToken, bearer_token, issue_token, read_token


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str  # placeholders $1, $2, ... (asyncpg's; the psycopg driver converts them)
    args: tuple[Any, ...] = ()
    mode: str = "all"  # "all" → list of rows, "one" → row | None, "exec" → None


@dataclass(frozen=True, slots=True)
class Blocking:
    """A CPU-bound call the async driver runs in a thread (the implementations do the same)."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()


BEGIN = Statement("BEGIN", mode="exec")
COMMIT = Statement("COMMIT", mode="exec")
ROLLBACK = Statement("ROLLBACK", mode="exec")


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes | None
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Generator[Statement | Blocking, Any, Reply]


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _problem(status: int, title: str, detail: str) -> Problem:
    return Problem(status, title, detail)


def not_found() -> Problem:
    return _problem(404, "Not Found", "The resource does not exist or is not visible to you.")


# ----------------------------------------------------------------------------------- SQL

# Each statement is the one shared/selects.py builds for the same step (same tables, joins and
# order), written out in SQL.
AUTH_SQL = "SELECT id, email, display_name, is_admin, created_at FROM users WHERE id = $1"
ROLE_SQL = "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2"
# selects.task_standing: the task's project and the caller's role there, in one statement.
TASK_STANDING_SQL = """SELECT t.project_id, m.role FROM tasks t
JOIN project_members m ON m.project_id = t.project_id AND m.user_id = $2 WHERE t.id = $1"""
LOCK_PROJECT_SQL = "SELECT id FROM projects WHERE id = $1 FOR SHARE"
LOCK_TASK_SQL = "SELECT version FROM tasks WHERE id = $1 FOR UPDATE"
LOCK_TASK_SHARE_SQL = "SELECT version FROM tasks WHERE id = $1 FOR SHARE"
TASK_SELECT = """SELECT t.id, t.project_id, t.title, t.description, t.status, t.priority,
       t.priority_rank, t.due_date, t.created_at, t.updated_at, t.version, t.assignee_id,
       a.email AS assignee_email, a.display_name AS assignee_name,
       t.created_by, c.email AS creator_email, c.display_name AS creator_name,
       (SELECT count(*) FROM comments WHERE comments.task_id = t.id) AS comment_count
FROM tasks t LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN users c ON c.id = t.created_by"""
TASK_SQL = TASK_SELECT + " WHERE t.id = $1"
# selects.task_row: a read's visibility and the task in one statement.
VISIBLE_TASK_SQL = (
    TASK_SELECT
    + " JOIN project_members m ON m.project_id = t.project_id AND m.user_id = $2 WHERE t.id = $1"
)
LABELS_SQL = (
    "SELECT tl.task_id, l.id, l.name, l.color FROM task_labels tl"
    " JOIN labels l ON l.id = tl.label_id WHERE tl.task_id = ANY($1::uuid[])"
    " ORDER BY l.name, l.id"
)
# selects.projects_of: task counts are the row the database keeps per project (migration 0002).
PROJECTS_SQL = """SELECT p.id, p.name, p.description, p.created_at, p.updated_at, p.version,
       m.role, tc.todo, tc.in_progress, tc.done
FROM projects p
JOIN project_members m ON m.project_id = p.id AND m.user_id = $1
JOIN project_task_counts tc ON tc.project_id = p.id
ORDER BY p.created_at DESC, p.id DESC LIMIT $2"""
PROJECT_LABELS_SQL = "SELECT id FROM labels WHERE project_id = $1 AND id = ANY($2::uuid[])"
INSERT_TASK_SQL = """INSERT INTO tasks (project_id, title, description, status, priority,
                   assignee_id, due_date, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"""
INSERT_TASK_LABELS_SQL = "INSERT INTO task_labels (task_id, label_id) SELECT $1, unnest($2::uuid[])"
DELETE_TASK_LABELS_SQL = "DELETE FROM task_labels WHERE task_id = $1"
INSERT_ACTIVITY_SQL = """INSERT INTO activity (project_id, actor_id, verb, target_type, target_id,
                      changes) VALUES ($1, $2, $3, $4, $5, $6::jsonb)"""
INSERT_COMMENT_SQL = """INSERT INTO comments (task_id, author_id, body) VALUES ($1, $2, $3)
RETURNING id, created_at, updated_at"""
USER_BY_EMAIL_SQL = "SELECT id, password_hash FROM users WHERE email = $1"

# Task list orders: (ORDER BY, key column, codec) — the contract's sorts (selects.TASK_SORTS).
# A due date sorts with NULL as ±infinity, the expression migration 0003 indexes.
_DUE_SOONEST, _DUE_LATEST = (f"coalesce(t.due_date, {end})" for end in DATE_NULLS_LAST)
_SORTS: dict[str, tuple[str, str, Any]] = {
    "-created_at": ("t.created_at DESC, t.id DESC", "created_at", TIMESTAMP),
    "created_at": ("t.created_at ASC, t.id ASC", "created_at", TIMESTAMP),
    "due_date": (f"{_DUE_SOONEST} ASC, t.id ASC", "due_date", DATE),
    "-due_date": (f"{_DUE_LATEST} DESC, t.id DESC", "due_date", DATE),
    "priority": ("t.priority_rank ASC, t.id ASC", "priority_rank", INT),
    "-priority": ("t.priority_rank DESC, t.id DESC", "priority_rank", INT),
}
_RANK = {"viewer": 0, "editor": 1, "owner": 2}
_TASK_FIELDS = ("title", "description", "status", "priority", "assignee_id", "due_date")


# ----------------------------------------------------------------------------- shaping


def _summary(user_id: Any, email: str, name: str) -> dict[str, str]:
    return {"id": str(user_id), "email": email, "display_name": name}


def task_json(row: Any, labels: list[dict[str, str]]) -> dict[str, Any]:
    assignee = (
        None
        if row["assignee_id"] is None
        else _summary(row["assignee_id"], row["assignee_email"], row["assignee_name"])
    )
    due = row["due_date"]
    return {
        "id": str(row["id"]),
        "project_id": str(row["project_id"]),
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": row["priority"],
        "assignee": assignee,
        "labels": labels,
        "due_date": None if due is None else due.isoformat(),
        "created_by": _summary(row["created_by"], row["creator_email"], row["creator_name"]),
        "created_at": format_timestamp(row["created_at"]),
        "updated_at": format_timestamp(row["updated_at"]),
        "version": row["version"],
        "comment_count": row["comment_count"],
    }


def project_json(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "description": row["description"],
        "created_at": format_timestamp(row["created_at"]),
        "updated_at": format_timestamp(row["updated_at"]),
        "version": row["version"],
        "my_role": row["role"],
        "task_counts": {
            "todo": row["todo"],
            "in_progress": row["in_progress"],
            "done": row["done"],
        },
    }


def comment_json(row: Any, task_id: Any, author: Any, body: str) -> dict[str, Any]:
    """A new comment: its row as inserted (id and times) and the author who wrote it."""
    return {
        "id": str(row["id"]),
        "task_id": str(task_id),
        "author": _summary(author["id"], author["email"], author["display_name"]),
        "body": body,
        "created_at": format_timestamp(row["created_at"]),
        "updated_at": format_timestamp(row["updated_at"]),
    }


def _labels_by_task(rows: list[Any]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(str(row["task_id"]), []).append(
            {"id": str(row["id"]), "name": row["name"], "color": row["color"]}
        )
    return grouped


def _json(status: int, document: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, orjson.dumps(document), headers or [])


# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


def handle(request: Request) -> Handler:
    """Route; answer problems as problem+json. Every reply carries the contract's headers."""
    try:
        reply = yield from _route(request)
    except Problem as problem:
        reply = Reply(
            problem.status,
            orjson.dumps(
                {
                    "type": "about:blank",
                    "title": problem.title,
                    "status": problem.status,
                    "detail": problem.detail,
                }
            ),
            [("content-type", "application/problem+json")],
        )
        if problem.status == 401:
            reply.headers.append(("www-authenticate", "Bearer"))
    reply.headers += [
        ("x-request-id", request_id(request.headers.get("x-request-id"))),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ]
    if not any(name == "content-type" for name, _ in reply.headers) and reply.body is not None:
        reply.headers.append(("content-type", "application/json"))
    return reply


def _route(request: Request) -> Handler:
    parts = request.path.strip("/").split("/")
    method = request.method
    if parts == ["healthz"] and method == "GET":
        return _json(200, {"status": "ok"})
    if parts[:2] != ["api", "v1"]:
        raise not_found()
    parts = parts[2:]
    if parts == ["auth", "token"] and method == "POST":
        return (yield from login(request))
    user = yield from authenticate(request)
    if parts == ["projects"] and method == "GET":
        return (yield from list_projects(request, user))
    if len(parts) == 3 and parts[0] == "projects" and parts[2] == "tasks":
        project_id = _uuid(parts[1])
        if method == "GET":
            return (yield from list_tasks(request, user, project_id))
        if method == "POST":
            return (yield from create_task(request, user, project_id))
    if len(parts) == 2 and parts[0] == "tasks":
        task_id = _uuid(parts[1])
        if method == "GET":
            return (yield from get_task(user, task_id))
        if method == "PATCH":
            return (yield from update_task(request, user, task_id))
    if len(parts) == 3 and parts[0] == "tasks" and parts[2] == "comments" and method == "POST":
        return (yield from create_comment(request, user, _uuid(parts[1])))
    raise not_found()


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise _problem(422, "Unprocessable Content", "Malformed id.") from None


def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise _problem(400, "Bad Request", "Malformed JSON.") from None
    if not isinstance(body, dict):
        raise _problem(422, "Unprocessable Content", "Expected an object.")
    return body


def authenticate(request: Request) -> Handler:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _problem(401, "Unauthorized", "Not authenticated.")
    try:
        user_id = read_token(token, get_settings()).user_id
    except InvalidToken:
        raise _problem(401, "Unauthorized", "Invalid token.") from None
    user = yield Statement(AUTH_SQL, (user_id,), "one")
    if user is None:
        raise _problem(401, "Unauthorized", "Invalid token.")
    return user


def _at_least(row: Any, minimum: str) -> None:
    if row is None:
        raise not_found()
    if _RANK[row["role"]] < _RANK[minimum]:
        raise _problem(403, "Forbidden", "Your role in this project does not allow this.")


def require_role(project_id: Any, user: Any, minimum: str) -> Handler:
    _at_least((yield Statement(ROLE_SQL, (project_id, user["id"]), "one")), minimum)


def require_task_role(task_id: Any, user: Any, minimum: str) -> Handler:
    """The task's project, once the caller's role there is at least `minimum`."""
    row = yield Statement(TASK_STANDING_SQL, (task_id, user["id"]), "one")
    _at_least(row, minimum)
    return row["project_id"]


def _lock(sql: str, key: Any) -> Handler:
    """A row lock of contract/DECISIONS.md "Locks"; the row, or 404 when it has gone."""
    row = yield Statement(sql, (key,), "one")
    if row is None:
        raise not_found()
    return row


def _load_task(task_id: Any) -> Handler:
    row = yield Statement(TASK_SQL, (task_id,), "one")
    if row is None:
        raise not_found()
    labels = yield Statement(LABELS_SQL, ([task_id],))
    return row, _labels_by_task(labels).get(str(row["id"]), [])


def _task_reply(
    status: int,
    row: Any,
    labels: list[dict[str, str]],
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    document = task_json(row, labels)
    return _json(status, document, [*(headers or []), ("etag", representation_etag(document))])


# ------------------------------------------------------------------------------ handlers


def login(request: Request) -> Handler:
    form = {key: values[-1] for key, values in parse_qs(request.body.decode("latin-1")).items()}
    email, password = form.get("username", ""), form.get("password", "")
    user = yield Statement(USER_BY_EMAIL_SQL, (email.lower(),), "one")
    valid = yield Blocking(verify_password, (user["password_hash"] if user else None, password))
    if user is None or not valid:
        raise _problem(401, "Unauthorized", "Incorrect email or password")
    settings = get_settings()
    return _json(
        200,
        {
            "access_token": issue_token(user["id"], settings),
            "token_type": "bearer",
            "expires_in": settings.access_token_ttl_seconds,
        },
    )


def _limit(query: dict[str, list[str]]) -> int:
    try:
        limit = int(query.get("limit", ["20"])[-1])
    except ValueError:
        raise _problem(422, "Unprocessable Content", "limit must be an integer.") from None
    if not 1 <= limit <= 100:
        raise _problem(422, "Unprocessable Content", "limit must be 1-100.")
    return limit


def list_projects(request: Request, user: Any) -> Handler:
    query = parse_qs(request.query)
    if "cursor" in query:
        raise _problem(422, "Unprocessable Content", "The floor serves first pages only.")
    limit = _limit(query)
    rows = yield Statement(PROJECTS_SQL, (user["id"], limit + 1))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            scope("projects", user_id=user["id"]),
            [format_timestamp(last["created_at"]), str(last["id"])],
            get_settings(),
        )
    return _json(200, {"items": [project_json(row) for row in rows], "next_cursor": next_cursor})


def list_tasks(request: Request, user: Any, project_id: uuid.UUID) -> Handler:
    query = parse_qs(request.query)
    if "cursor" in query:
        raise _problem(422, "Unprocessable Content", "The floor serves first pages only.")
    limit = _limit(query)
    sort = query.get("sort", ["-created_at"])[-1]
    if sort not in _SORTS:
        raise _problem(422, "Unprocessable Content", "Unknown sort.")
    yield from require_role(project_id, user, "viewer")
    status, priority = query.get("status", []), query.get("priority", [])
    assignee = _uuid(query["assignee_id"][-1]) if "assignee_id" in query else None
    label = _uuid(query["label_id"][-1]) if "label_id" in query else None
    due_before = dt.date.fromisoformat(query["due_before"][-1]) if "due_before" in query else None
    q = query["q"][-1] if "q" in query else None
    where, args = ["t.project_id = $1"], [project_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if status:
        where.append(f"t.status = ANY({arg(status)}::text[])")
    if priority:
        where.append(f"t.priority = ANY({arg(priority)}::text[])")
    if assignee is not None:
        where.append(f"t.assignee_id = {arg(assignee)}")
    if label is not None:
        where.append(
            "EXISTS (SELECT 1 FROM task_labels tl JOIN labels l ON l.id = tl.label_id"
            f" WHERE tl.task_id = t.id AND l.id = {arg(label)})"
        )
    if due_before is not None:
        where.append(f"t.due_date < {arg(due_before)}")
    if q is not None:
        where.append(f"t.title ILIKE {arg('%' + like_escape(q) + '%')} ESCAPE '\\'")
    order, key, codec = _SORTS[sort]
    sql = f"{TASK_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {arg(limit + 1)}"
    rows = yield Statement(sql, tuple(args))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        list_scope = scope(
            "tasks",
            project_id=project_id,
            status=status,
            priority=priority,
            assignee_id=assignee,
            label_id=label,
            due_before=due_before,
            q=q,
            sort=sort,
        )
        value = last[key]
        next_cursor = encode_cursor(
            list_scope,
            [None if value is None else codec.dump(value), str(last["id"])],
            get_settings(),
        )
    labels: dict[str, list[dict[str, str]]] = {}
    if rows:
        labels = _labels_by_task((yield Statement(LABELS_SQL, ([row["id"] for row in rows],))))
    items = [task_json(row, labels.get(str(row["id"]), [])) for row in rows]
    return _json(200, {"items": items, "next_cursor": next_cursor})


def get_task(user: Any, task_id: uuid.UUID) -> Handler:
    row = yield Statement(VISIBLE_TASK_SQL, (task_id, user["id"]), "one")
    if row is None:
        raise not_found()
    labels = yield Statement(LABELS_SQL, ([task_id],))
    return _task_reply(200, row, _labels_by_task(labels).get(str(row["id"]), []))


def _task_values(body: dict[str, Any]) -> dict[str, Any]:
    """The body's task fields as SQL values (ids and dates parsed)."""
    values: dict[str, Any] = {}
    for name in _TASK_FIELDS:
        if name in body:
            value = body[name]
            if name == "assignee_id" and value is not None:
                value = _uuid(value)
            elif name == "due_date" and value is not None:
                value = dt.date.fromisoformat(value)
            values[name] = value
    if "label_ids" in body:
        values["label_ids"] = [_uuid(label) for label in body["label_ids"]]
    return values


def _check_references(project_id: Any, values: dict[str, Any]) -> Handler:
    """Under the project lock, like the implementations, so both still hold at the commit."""
    bad = False
    if values.get("assignee_id") is not None:
        member = yield Statement(ROLE_SQL, (project_id, values["assignee_id"]), "one")
        bad = member is None
    if values.get("label_ids"):
        found = yield Statement(PROJECT_LABELS_SQL, (project_id, values["label_ids"]))
        bad = bad or len(found) != len(set(values["label_ids"]))
    if bad:
        raise _problem(422, "Unprocessable Content", "Invalid reference.")


def _in_transaction(work: Handler) -> Handler:
    yield BEGIN
    try:
        reply = yield from work
    except BaseException:
        yield ROLLBACK
        raise
    yield COMMIT
    return reply


def _activity(
    project_id: Any,
    user: Any,
    verb: str,
    target_type: str,
    target_id: Any,
    changes: dict[str, Any] | None = None,
) -> Statement:
    return Statement(
        INSERT_ACTIVITY_SQL,
        (
            project_id,
            user["id"],
            verb,
            target_type,
            target_id,
            orjson.dumps(changes or {}).decode(),
        ),
        "exec",
    )


def create_task(request: Request, user: Any, project_id: uuid.UUID) -> Handler:
    body = _body(request)
    if not isinstance(body.get("title"), str):
        raise _problem(422, "Unprocessable Content", "title is required.")
    values = _task_values(body)
    return (yield from _in_transaction(_create_task(user, project_id, values)))


def _create_task(user: Any, project_id: uuid.UUID, values: dict[str, Any]) -> Handler:
    yield from require_role(project_id, user, "editor")
    yield from _lock(LOCK_PROJECT_SQL, project_id)
    yield from _check_references(project_id, values)
    created = yield Statement(
        INSERT_TASK_SQL,
        (
            project_id,
            values["title"],
            values.get("description", ""),
            values.get("status", "todo"),
            values.get("priority", "medium"),
            values.get("assignee_id"),
            values.get("due_date"),
            user["id"],
        ),
        "one",
    )
    task_id = created["id"]
    if values.get("label_ids"):
        yield Statement(INSERT_TASK_LABELS_SQL, (task_id, values["label_ids"]), "exec")
    yield _activity(project_id, user, "task.created", "task", task_id)
    row, labels = yield from _load_task(task_id)
    return _task_reply(201, row, labels, [("location", f"/api/v1/tasks/{task_id}")])


def update_task(request: Request, user: Any, task_id: uuid.UUID) -> Handler:
    body = _body(request)
    values = _task_values(body)
    return (
        yield from _in_transaction(
            _update_task(user, task_id, body, values, request.headers.get("if-match"))
        )
    )


def _update_task(
    user: Any,
    task_id: uuid.UUID,
    body: dict[str, Any],
    values: dict[str, Any],
    if_match: str | None,
) -> Handler:
    project_id = yield from require_task_role(task_id, user, "editor")
    yield from _lock(LOCK_PROJECT_SQL, project_id)
    yield from _lock(LOCK_TASK_SQL, task_id)
    yield from _check_references(project_id, values)
    # If-Match names a representation (contract 1.1): the locked task's, read whole.
    row, labels = yield from _load_task(task_id)
    if if_match_fails(if_match, representation_etag(task_json(row, labels))):
        raise _problem(412, "Precondition Failed", "The task has changed since you read it.")
    current = task_request_form(_Row(row), [label["id"] for label in labels])
    requested = request_form(
        {k: v for k, v in body.items() if k in _TASK_FIELDS or k == "label_ids"}
    )
    changes = diff(current, requested)
    if not changes:
        return _task_reply(200, row, labels)
    columns = [name for name in _TASK_FIELDS if name in changes]
    assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(columns, start=2))
    yield Statement(
        f"UPDATE tasks SET {assignments}{', ' if columns else ''}"
        "version = version + 1, updated_at = now() WHERE id = $1",
        (task_id, *(values[name] for name in columns)),
        "exec",
    )
    if "label_ids" in changes:
        yield Statement(DELETE_TASK_LABELS_SQL, (task_id,), "exec")
        if values["label_ids"]:
            yield Statement(INSERT_TASK_LABELS_SQL, (task_id, values["label_ids"]), "exec")
    yield _activity(project_id, user, "task.updated", "task", task_id, changes)
    row, labels = yield from _load_task(task_id)
    return _task_reply(200, row, labels)


class _Row:
    """Attribute access over a row, for shared.changes.task_request_form."""

    __slots__ = ("_row",)

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return self._row[name]


def create_comment(request: Request, user: Any, task_id: uuid.UUID) -> Handler:
    body = _body(request)
    if not isinstance(body.get("body"), str) or not body["body"]:
        raise _problem(422, "Unprocessable Content", "body is required.")
    return (yield from _in_transaction(_create_comment(user, task_id, body["body"])))


def _create_comment(user: Any, task_id: uuid.UUID, text: str) -> Handler:
    project_id = yield from require_task_role(task_id, user, "viewer")
    yield from _lock(LOCK_PROJECT_SQL, project_id)
    yield from _lock(LOCK_TASK_SHARE_SQL, task_id)  # the task cannot go under its new comment
    created = yield Statement(INSERT_COMMENT_SQL, (task_id, user["id"], text), "one")
    yield _activity(project_id, user, "comment.created", "comment", created["id"])
    document = comment_json(created, task_id, user, text)
    return _json(201, document, [("location", f"/api/v1/comments/{created['id']}")])
