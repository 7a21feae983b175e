"""The contract's reads and locks (and sign-in's hash upgrade) as SQLAlchemy 2 statements, for
the three SQLAlchemy implementations (FastAPI and Litestar async, Flask sync). A statement does
not depend on the framework or on the driver, so each is written once here; each implementation
executes them on its own session, in its own idiom (await or not), and pages them with
shared.keyset.

The shapes are the contract's one SQL shape, which the DRF implementation says in the Django ORM
too (contract/DECISIONS.md, "One SQL shape"): embedded users joined, a task's labels in one
`SELECT ... IN` for the whole page, `comment_count` a correlated count per row of the page,
`task_counts` a join to the counts the database keeps (migration 0002), `my_role` a join to the
caller's membership. Every list is a keyset page over an index that matches its order."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    Update,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Bundle, aliased, joinedload, selectinload, with_expression

from shared.cursors import DATE, DATE_NULLS_LAST, INT, TEXT, TIMESTAMP
from shared.cursors import UUID as UUID_KEY
from shared.httputil import like_escape
from shared.keyset import Key, Keyset
from shared.orm import (
    Activity,
    Comment,
    Label,
    Project,
    ProjectMember,
    ProjectTaskCounts,
    Task,
    User,
    task_labels,
)
from shared.tasklist import TaskFilters
from shared.vocabulary import TaskPriority, TaskSort, TaskStatus

# ------------------------------------------------------------------------ visibility


def member_role(project_id: uuid.UUID, user_id: uuid.UUID) -> Select[tuple[str]]:
    """The user's role in the project; no row when not a member (or no such project)."""
    return select(ProjectMember.role).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
    )


def task_standing(task_id: uuid.UUID, user_id: uuid.UUID) -> Select[tuple[uuid.UUID, str]]:
    """The task's project and the user's role there; no row when the task does not exist or
    the user is not a member of its project (both are the same 404)."""
    return (
        select(Task.project_id, ProjectMember.role)
        .join(
            ProjectMember,
            (ProjectMember.project_id == Task.project_id) & (ProjectMember.user_id == user_id),
        )
        .where(Task.id == task_id)
    )


def comment_standing(
    comment_id: uuid.UUID, user_id: uuid.UUID
) -> Select[tuple[Comment, uuid.UUID, str]]:
    """The comment (author loaded), its task's project and the user's role there; no row when
    the comment does not exist or the user is not a member."""
    return (
        select(Comment, Task.project_id, ProjectMember.role)
        .join(Task, Task.id == Comment.task_id)
        .join(
            ProjectMember,
            (ProjectMember.project_id == Task.project_id) & (ProjectMember.user_id == user_id),
        )
        .where(Comment.id == comment_id)
        .options(joinedload(Comment.author))
    )


# ------------------------------------------------------------------------ locks
# The lock order of every write (contract/DECISIONS.md, "Locks"), taken after the visibility
# check: the project row (share: writes inside the project; update: the project itself, its
# membership, label deletion), then the task row, then the comment row.

ProjectLock = Literal["share", "update"]


def lock_project(project_id: uuid.UUID, mode: ProjectLock) -> Select[tuple[uuid.UUID]]:
    """No row when the project is gone (deleted since the visibility check)."""
    return select(Project.id).where(Project.id == project_id).with_for_update(read=mode == "share")


def lock_task(task_id: uuid.UUID, *, share: bool = False) -> Select[tuple[int]]:
    """The task's version, row-locked (share: it must stay, e.g. under a new comment)."""
    return select(Task.version).where(Task.id == task_id).with_for_update(read=share)


def lock_comment(comment_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    return select(Comment.id).where(Comment.id == comment_id).with_for_update()


# ------------------------------------------------------------------------ users


def sign_in_credentials(email: str) -> Select[tuple[uuid.UUID, str]]:
    """Who signs in with `email`, in any case (emails are stored lower-cased): the id and the
    password hash, all a sign-in needs once its transaction has ended (no ORM object to expire
    or lazy-load while argon2 runs)."""
    return select(User.id, User.password_hash).where(User.email == email.lower())


# The sign-in throttle: migration 0004's SQL functions (contract/DECISIONS.md, "Throttled sign-in"),
# called with the key of shared.throttle.sign_in_key and the client address.


def sign_in_retry_after(
    key: str, address: str, window_seconds: int, max_per_pair: int, max_per_address: int
) -> Select[tuple[int | None]]:
    """Seconds until the pair or the address may try again; NULL (or 0) when it may now."""
    return select(
        func.sign_in_retry_after(
            key, cast(address, INET), window_seconds, max_per_pair, max_per_address
        )
    )


def sign_in_failed(key: str, address: str, window_seconds: int) -> Select[tuple[None]]:
    return select(func.sign_in_failed(key, cast(address, INET), window_seconds))


def sign_in_succeeded(key: str, address: str) -> Select[tuple[None]]:
    """Clears the pair's failures."""
    return select(func.sign_in_succeeded(key, cast(address, INET)))


def upgrade_password_hash(user_id: uuid.UUID, verified_hash: str, new_hash: str) -> Update:
    """Store a re-hashed password unless the hash changed since it was verified (a concurrent
    sign-in already upgraded it)."""
    return (
        update(User)
        .where(User.id == user_id, User.password_hash == verified_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )


USERS_BY_NAME = Keyset((Key(User.display_name, TEXT), Key(User.id, UUID_KEY)))


def users_matching(q: str | None) -> Select[tuple[User]]:
    """Users whose email or display name starts with `q`, case-insensitively. Emails are
    stored lower-cased (a CHECK), so each side matches its text_pattern_ops index as written:
    `email` itself and `lower(display_name)` (shared/migrations/0001_core.sql)."""
    statement = select(User)
    if q is not None:
        prefix = like_escape(q.lower()) + "%"
        statement = statement.where(
            User.email.like(prefix, escape="\\")
            | func.lower(User.display_name).like(prefix, escape="\\")
        )
    return statement


# ------------------------------------------------------------------------ projects

PROJECTS_NEWEST_FIRST = Keyset(
    (Key(Project.created_at, TIMESTAMP), Key(Project.id, UUID_KEY)), descending=True
)


def projects_of(user_id: uuid.UUID) -> Select[tuple[Project]]:
    """The user's projects with `my_role` and `task_counts`, in the same statement."""
    counts = ProjectTaskCounts
    return (
        select(Project)
        .join(
            ProjectMember,
            (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == user_id),
        )
        .join(counts, counts.project_id == Project.id)
        .options(
            with_expression(Project.my_role, ProjectMember.role),
            with_expression(Project.todo_count, counts.todo),
            with_expression(Project.in_progress_count, counts.in_progress),
            with_expression(Project.done_count, counts.done),
        )
        # A project already in the session (just created or updated) gets the expressions too.
        .execution_options(populate_existing=True)
    )


def members_of(project_id: uuid.UUID) -> Select[tuple[ProjectMember]]:
    return (
        select(ProjectMember)
        .join(ProjectMember.user)
        .where(ProjectMember.project_id == project_id)
        .options(joinedload(ProjectMember.user))
        .order_by(User.display_name, User.id)
        .execution_options(populate_existing=True)
    )


def member(project_id: uuid.UUID, user_id: uuid.UUID) -> Select[tuple[ProjectMember]]:
    return (
        select(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        .options(joinedload(ProjectMember.user))
        .execution_options(populate_existing=True)
    )


def owner_count(project_id: uuid.UUID) -> Select[tuple[int]]:
    return (
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.role == "owner")
    )


# ------------------------------------------------------------------------ labels


def labels_of(project_id: uuid.UUID) -> Select[tuple[Label]]:
    return select(Label).where(Label.project_id == project_id).order_by(Label.name, Label.id)


def labels_among(project_id: uuid.UUID, label_ids: list[uuid.UUID]) -> Select[tuple[Label]]:
    """Those of `label_ids` that are labels of the project."""
    return select(Label).where(Label.project_id == project_id, Label.id.in_(label_ids))


# ------------------------------------------------------------------------ tasks

_TASK_ID = Key(Task.id, UUID_KEY)
TASK_SORTS: dict[TaskSort, Keyset] = {
    TaskSort.NEWEST: Keyset((Key(Task.created_at, TIMESTAMP), _TASK_ID), descending=True),
    TaskSort.OLDEST: Keyset((Key(Task.created_at, TIMESTAMP), _TASK_ID)),
    TaskSort.DUE_SOONEST: Keyset((Key(Task.due_date, DATE, DATE_NULLS_LAST), _TASK_ID)),
    TaskSort.DUE_LATEST: Keyset(
        (Key(Task.due_date, DATE, DATE_NULLS_LAST), _TASK_ID), descending=True
    ),
    TaskSort.PRIORITY_LOWEST: Keyset((Key(Task.priority_rank, INT), _TASK_ID)),
    TaskSort.PRIORITY_HIGHEST: Keyset((Key(Task.priority_rank, INT), _TASK_ID), descending=True),
}


def tasks() -> Select[tuple[Task]]:
    """Tasks with everything their representation embeds, in a fixed number of statements
    whatever the page size: users joined, labels in one SELECT ... IN, `comment_count` a
    correlated count evaluated for the rows of the page only."""
    comment_count = (
        select(func.count()).where(Comment.task_id == Task.id).correlate(Task).scalar_subquery()
    )
    return (
        select(Task)
        .options(
            joinedload(Task.assignee),
            joinedload(Task.created_by),
            selectinload(Task.labels),
            with_expression(Task.comment_count, comment_count),
        )
        .execution_options(populate_existing=True)
    )


class UserSummary(Bundle):
    """An embedded user (`id`, `email`, `display_name`) as a plain dict, or None when an outer
    join found no user (an unassigned task): the shape of the representation, with no entity."""

    def create_row_processor(
        self, query: Any, procs: Sequence[Callable[[Any], Any]], labels: Sequence[str]
    ) -> Callable[[Any], dict[str, Any] | None]:
        def summary(row: Any) -> dict[str, Any] | None:
            values = [proc(row) for proc in procs]
            return None if values[0] is None else dict(zip(labels, values, strict=True))

        return summary


def _user_summary(name: str, user: Any) -> UserSummary:
    return UserSummary(name, user.id, user.email, user.display_name)


_ASSIGNEE, _CREATOR = aliased(User, name="assignee"), aliased(User, name="creator")


@cache  # a Select is immutable: built once, extended per use
def task_rows() -> Select[Any]:
    """Tasks as rows for reads: the same joins and correlated count as `tasks()`, but columns
    instead of an entity, so a read page builds no ORM object, no identity map entry and no
    relationship collection. Each row has the representation's scalar fields, `comment_count`,
    `priority_rank` (a cursor key) and the embedded users `assignee` (None when unassigned) and
    `created_by` as dicts; its labels come from `labels_of_tasks` (one statement per page)."""
    comment_count = (
        select(func.count()).where(Comment.task_id == Task.id).correlate(Task).scalar_subquery()
    )
    return (
        select(
            Task.id,
            Task.project_id,
            Task.title,
            Task.description,
            Task.status,
            Task.priority,
            Task.priority_rank,
            Task.due_date,
            Task.created_at,
            Task.updated_at,
            Task.version,
            comment_count.label("comment_count"),
            _user_summary("assignee", _ASSIGNEE),
            _user_summary("created_by", _CREATOR),
        )
        .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Task.assignee_id)
        .join(_CREATOR, _CREATOR.id == Task.created_by_id)
    )


def task_row(task_id: uuid.UUID, user_id: uuid.UUID) -> Select[Any]:
    """One task as `task_rows` has it, if `user_id` may see it: visibility (a member of the
    task's project: any role reads) and the task in one statement; no row is the 404."""
    return (
        task_rows()
        .join(
            ProjectMember,
            (ProjectMember.project_id == Task.project_id) & (ProjectMember.user_id == user_id),
        )
        .where(Task.id == task_id)
    )


def task_list_rows(project_id: uuid.UUID, filters: TaskFilters) -> Select[Any]:
    """`task_list` as rows (order and page: TASK_SORTS[filters.sort])."""
    return _filtered(task_rows(), project_id, filters)


def labels_of_tasks(task_ids: Any) -> Select[tuple[uuid.UUID, uuid.UUID, str, str]]:
    """The labels of a page of tasks in one statement: `(task_id, id, name, color)` rows in the
    contract's label order (name, then id). `task_ids` is one array parameter (`task_id =
    ANY(...)`, the floors' spelling), not an IN list: the SQL text is the same for every page
    size, so it is rendered and prepared once."""
    return (
        select(task_labels.c.task_id, Label.id, Label.name, Label.color)
        .join(Label, Label.id == task_labels.c.label_id)
        .where(task_labels.c.task_id == any_(cast(task_ids, ARRAY(Uuid))))
        .order_by(Label.name, Label.id)
    )


def labels_by_task(rows: Any) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """`labels_of_tasks` rows grouped per task, each label the representation's dict (`id`,
    `name`, `color`), in the statement's order."""
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for task_id, label_id, name, color in rows:
        grouped.setdefault(task_id, []).append({"id": label_id, "name": name, "color": color})
    return grouped


def task(task_id: uuid.UUID) -> Select[tuple[Task]]:
    return tasks().where(Task.id == task_id)


def task_list(project_id: uuid.UUID, filters: TaskFilters) -> Select[tuple[Task]]:
    """The project's tasks that pass `filters` (order and page: TASK_SORTS[filters.sort])."""
    return _filtered(tasks(), project_id, filters)


def _filtered(statement: Select[Any], project_id: uuid.UUID, filters: TaskFilters) -> Select[Any]:
    statement = statement.where(Task.project_id == project_id)
    if filters.status:
        statement = statement.where(Task.status.in_([str(s) for s in filters.status]))
    if filters.priority:
        statement = statement.where(Task.priority.in_([str(p) for p in filters.priority]))
    if filters.assignee_id is not None:
        statement = statement.where(Task.assignee_id == filters.assignee_id)
    if filters.label_id is not None:
        statement = statement.where(Task.labels.any(Label.id == filters.label_id))
    if filters.due_before is not None:
        statement = statement.where(Task.due_date < filters.due_before)  # NULL never matches
    if filters.q is not None:
        statement = statement.where(Task.title.ilike(f"%{like_escape(filters.q)}%", escape="\\"))
    return statement


# ------------------------------------------------------------------------ comments

COMMENTS_OLDEST_FIRST = Keyset((Key(Comment.created_at, TIMESTAMP), Key(Comment.id, UUID_KEY)))


def comments_of(task_id: uuid.UUID) -> Select[tuple[Comment]]:
    return (
        select(Comment)
        .where(Comment.task_id == task_id)
        .options(joinedload(Comment.author))
        .execution_options(populate_existing=True)
    )


def comment(comment_id: uuid.UUID) -> Select[tuple[Comment]]:
    return (
        select(Comment)
        .where(Comment.id == comment_id)
        .options(joinedload(Comment.author))
        .execution_options(populate_existing=True)
    )


# ------------------------------------------------------------------------ activity

ACTIVITY_NEWEST_FIRST = Keyset((Key(Activity.seq, INT),), descending=True)


def activity_of(project_id: uuid.UUID) -> Select[tuple[Activity]]:
    return (
        select(Activity)
        .where(Activity.project_id == project_id)
        .options(joinedload(Activity.actor))
    )


# ------------------------------------------------------------------- built once

# The hot reads as statements built once per process and executed with their parameters (named
# below): composing a statement of this size, and the cache key of a freshly built one, costs
# more CPU than PostgreSQL spends running it (task_row: ~0.5 ms, then ~0.2 ms for its key).
# SQLAlchemy compiles each once and caches the compiled form; a prebuilt statement also keeps
# its cache key.
USER_BY_ID = select(User).where(User.id == bindparam("user_id"))  # user_id
MEMBER_ROLE = member_role(bindparam("project_id"), bindparam("user_id"))  # project_id, user_id
TASK_ROW = task_row(bindparam("task_id"), bindparam("user_id"))  # task_id, user_id
LABELS_OF_TASKS = labels_of_tasks(bindparam("task_ids"))  # task_ids
PAGE_ROWS = "page_rows"  # the parameter a keyset page's LIMIT is bound to


def keyset_page(statement: Select[Any], keyset: Keyset) -> Select[Any]:
    """`statement` in `keyset` order, its LIMIT the parameter PAGE_ROWS."""
    return statement.order_by(*keyset.order_by()).limit(bindparam(PAGE_ROWS, type_=Integer))


def task_list_page(
    project_id: uuid.UUID, filters: TaskFilters
) -> tuple[Select[Any], dict[str, Any]]:
    """The task list as rows in `filters.sort` order (`keyset_page`), and its parameters but
    PAGE_ROWS. The statement is built once per filter shape — which filters are present, the
    statuses and priorities asked for, the sort: a few hundred at most — with the values as
    parameters; a title search (`q`, LIKE-escaped into the statement) is built per request."""
    parameters = {
        "project_id": project_id,
        "assignee_id": filters.assignee_id,
        "label_id": filters.label_id,
        "due_before": filters.due_before,
    }
    if filters.q is not None:
        statement = task_list_rows(project_id, filters)
        return keyset_page(statement, TASK_SORTS[filters.sort]), parameters
    shape = _task_list_shape(
        tuple(sorted(set(filters.status))),
        tuple(sorted(set(filters.priority))),
        filters.assignee_id is not None,
        filters.label_id is not None,
        filters.due_before is not None,
        filters.sort,
    )
    return shape, parameters


@lru_cache(maxsize=256)
def _task_list_shape(
    status: tuple[TaskStatus, ...],
    priority: tuple[TaskPriority, ...],
    by_assignee: bool,
    by_label: bool,
    by_due_date: bool,
    sort: TaskSort,
) -> Select[Any]:
    # Repeated or reordered statuses and priorities are the same any-of, so the same shape.
    filters = TaskFilters(
        status=status,
        priority=priority,
        assignee_id=bindparam("assignee_id") if by_assignee else None,
        label_id=bindparam("label_id") if by_label else None,
        due_before=bindparam("due_before") if by_due_date else None,
        sort=sort,
    )
    return keyset_page(task_list_rows(bindparam("project_id"), filters), TASK_SORTS[sort])
