"""Reads: the querysets of every list and lookup, and the row locks writes take (the HackSoft
Django styleguide's selectors; impl_drf.services writes).

The contract's one SQL shape (contract/DECISIONS.md, "One SQL shape"), said in the Django ORM —
the same statements shared/selects.py gives the three SQLAlchemy implementations:
- embedded users are joined (`select_related`; a task's users by the columns of its
  `values()` row), a page's task labels are one `SELECT ... WHERE task_id IN (...)`
  (`with_labels`);
- a task's `comment_count` is a correlated `count(*)` evaluated for the rows of the page only;
- a project's `task_counts` is a join to `project_task_counts`, which the database keeps
  (migration 0002), and `my_role` the join to the caller's own membership;
- every list is a keyset page (impl_drf.pagination) over an index that matches its order.

Visibility is the queryset: a project, task or comment of a project the caller is not a member
of is not in it, so a lookup answers 404 (never 403) for it (impl_drf.permissions)."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Lower

from impl_drf.models import (
    Activity,
    Comment,
    Label,
    Notification,
    Project,
    ProjectMember,
    Task,
    TaskLabel,
    User,
)
from impl_drf.pagination import Key, Keyset
from shared.assistant import OPEN_TASKS_SQL
from shared.cursors import DATE, DATE_NULLS_LAST, INT, TEXT, TIMESTAMP
from shared.cursors import UUID as UUID_KEY
from shared.tasklist import TaskFilters
from shared.vocabulary import Role, TaskSort

# ------------------------------------------------------------------------ visibility


def visible_projects(user: User) -> QuerySet[Project]:
    """The projects the caller is a member of, each with `my_role` (nothing else joined)."""
    # The annotation reuses the membership join of the filter: the caller's own row.
    return Project.objects.filter(memberships__user=user).annotate(my_role=F("memberships__role"))


def visible_tasks(user: User) -> QuerySet[Task]:
    """Every task the caller may see, each with `my_role` in its project (nothing embedded)."""
    return _visible(Task.objects.all(), user)


def _visible(tasks: QuerySet[Any], user: User) -> QuerySet[Any]:
    # The annotation reuses the membership join of the filter: the caller's own row.
    return tasks.filter(project__memberships__user=user).annotate(
        my_role=F("project__memberships__role")
    )


def tasks_for(user: User) -> QuerySet[TaskRow]:
    """Every task the caller may see as a `TaskRow` with `my_role` (for ProjectPermission),
    ready to render once `with_labels` gave them their labels."""
    return _visible(_TASK_ROWS, user)


def task_for(user: User, task_id: uuid.UUID) -> TaskRow:
    """One task the caller may see, ready to render (Task.DoesNotExist otherwise)."""
    return with_labels([tasks_for(user).get(pk=task_id)])[0]


def comments_for(user: User) -> QuerySet[Comment]:
    """Every comment the caller may see, each with its project and `my_role` there."""
    return (
        Comment.objects.filter(task__project__memberships__user=user)
        .annotate(my_role=F("task__project__memberships__role"), project_id=F("task__project_id"))
        .select_related("author")
    )


# ------------------------------------------------------------------------ users

USERS_BY_NAME = Keyset((Key("display_name", TEXT), Key("id", UUID_KEY)))


def users_matching(prefix: str | None) -> QuerySet[User]:
    """Users whose email or display name starts with `prefix`, case-insensitively.

    Emails are stored lower-cased; `lower(display_name)` is the expression of its prefix index
    (shared/migrations). `startswith` escapes LIKE wildcards, so `%` and `_` match literally."""
    users = User.objects.all()
    if prefix:
        prefix = prefix.lower()
        users = users.alias(display_name_lower=Lower("display_name")).filter(
            Q(email__startswith=prefix) | Q(display_name_lower__startswith=prefix)
        )
    return users


# ------------------------------------------------------------------------ projects

PROJECTS_NEWEST_FIRST = Keyset((Key("created_at", TIMESTAMP), Key("id", UUID_KEY)), descending=True)


def projects_for(user: User) -> QuerySet[Project]:
    """The caller's projects ready to render: `my_role` and the task counts, in one statement."""
    return visible_projects(user).select_related("task_counts")


# ------------------------------------------------------------------------ members


def members_of(project: Project) -> QuerySet[ProjectMember]:
    return (
        ProjectMember.objects.filter(project=project)
        .select_related("user")
        .order_by("user__display_name", "user_id")
    )


def member(project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    return (
        ProjectMember.objects.select_related("user")
        .filter(project_id=project_id, user_id=user_id)
        .first()
    )


def owner_count(project_id: uuid.UUID) -> int:
    return ProjectMember.objects.filter(project_id=project_id, role=Role.OWNER).count()


# ------------------------------------------------------------------------ labels


def labels_of(project: Project) -> QuerySet[Label]:
    return Label.objects.filter(project=project).order_by("name", "id")


def label_ids_among(project_id: uuid.UUID, label_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `label_ids` that are labels of the project."""
    return set(
        Label.objects.filter(project_id=project_id, pk__in=label_ids).values_list("id", flat=True)
    )


# ------------------------------------------------------------------------ tasks

_TASK_ID = Key("id", UUID_KEY)
TASK_SORTS: dict[TaskSort, Keyset] = {  # ties by id in the direction of the sort
    TaskSort.NEWEST: Keyset((Key("created_at", TIMESTAMP), _TASK_ID), descending=True),
    TaskSort.OLDEST: Keyset((Key("created_at", TIMESTAMP), _TASK_ID)),
    TaskSort.DUE_SOONEST: Keyset((Key("due_date", DATE, DATE_NULLS_LAST), _TASK_ID)),
    TaskSort.DUE_LATEST: Keyset(
        (Key("due_date", DATE, DATE_NULLS_LAST), _TASK_ID), descending=True
    ),
    TaskSort.PRIORITY_LOWEST: Keyset((Key("priority_rank", INT), _TASK_ID)),
    TaskSort.PRIORITY_HIGHEST: Keyset((Key("priority_rank", INT), _TASK_ID), descending=True),
}


def _comment_count() -> Subquery:
    """`(SELECT count(*) FROM comments WHERE task_id = tasks.id)`, per row of the page.

    A `Func`, not `Count`: Django would GROUP BY an aggregate in a subquery (and answer NULL
    for a task without comments), where the plain correlated count is the contract's shape."""
    count = Func(template="count(*)", output_field=IntegerField())
    return Subquery(Comment.objects.filter(task=OuterRef("pk")).order_by().values(n=count))


# Built once: annotate() resolves a copy of it for each queryset, and building the inner
# queryset (filter, order_by, values) was ~400 Python calls per statement.
_COMMENT_COUNT = _comment_count()

# A task as reads return it — the task list, getTask, and a write's answer: a `values()` row,
# not a model instance (impl_drf.serializers.TaskSerializer renders it). The statement is
# select_related's — both users joined, the assignee's LEFT OUTER — with only the columns the
# representation shows (the assignee's None when unassigned), `priority_rank` (a cursor key)
# and `comment_count`; `with_labels` adds `labels`. Building a Task and two Users per row was
# about a sixth of a task page's Python calls.
TaskRow = dict[str, Any]

TASK_ROW_FIELDS = (
    "id",
    "project_id",
    "title",
    "description",
    "status",
    "priority",
    "priority_rank",
    "assignee_id",
    "assignee__email",
    "assignee__display_name",
    "due_date",
    "created_by_id",
    "created_by__email",
    "created_by__display_name",
    "created_at",
    "updated_at",
    "version",
)


# Every task as a TaskRow, built once per process like a view's `queryset` attribute: never
# evaluated itself, each read chains its filters onto a copy. values() resolves each field's
# path and joins when it is called, which cost a single task more than the models it spares.
_TASK_ROWS: QuerySet[TaskRow] = Task.objects.values(*TASK_ROW_FIELDS, comment_count=_COMMENT_COUNT)


class LabelSummary(NamedTuple):
    """A label as a task shows it."""

    id: uuid.UUID
    name: str
    color: str


def with_labels(tasks: list[TaskRow]) -> list[TaskRow]:
    """Gives each task row its labels, in the contract's order (name, then id), as `labels`:
    one `SELECT ... FROM task_labels JOIN labels ... WHERE task_id IN (...)` for them all —
    prefetch_related's statement, without its per-page machinery (a related manager per task,
    a Label model per row: ~4,000 Python calls for a page of twenty, half that here)."""
    by_task: dict[uuid.UUID, list[LabelSummary]] = {task["id"]: [] for task in tasks}
    if by_task:
        rows = (
            TaskLabel.objects.filter(task_id__in=by_task)
            .order_by("label__name", "label_id")
            .values_list("task_id", "label_id", "label__name", "label__color")
        )
        for task_id, label_id, name, color in rows:
            by_task[task_id].append(LabelSummary(label_id, name, color))
    for task in tasks:
        task["labels"] = by_task[task["id"]]
    return tasks


def task_list(project: Project, filters: TaskFilters) -> QuerySet[TaskRow]:
    """The project's tasks that pass `filters` as TaskRows, ready to render once `with_labels`
    gave a page its labels (order and page: TASK_SORTS[filters.sort])."""
    tasks = _TASK_ROWS.filter(project=project)
    if filters.status:
        tasks = tasks.filter(status__in=filters.status)
    if filters.priority:
        tasks = tasks.filter(priority__in=filters.priority)
    if filters.assignee_id is not None:
        tasks = tasks.filter(assignee_id=filters.assignee_id)
    if filters.label_id is not None:
        tasks = tasks.filter(
            Exists(TaskLabel.objects.filter(task=OuterRef("pk"), label_id=filters.label_id))
        )
    if filters.due_before is not None:
        tasks = tasks.filter(due_date__lt=filters.due_before)  # NULL never matches
    if filters.q is not None:
        tasks = tasks.filter(title__icontains=filters.q)  # LIKE wildcards escaped
    return tasks


def is_member(project_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return ProjectMember.objects.filter(project_id=project_id, user_id=user_id).exists()


def task_label_ids(task: Task) -> list[uuid.UUID]:
    return list(task.labels.values_list("id", flat=True))


# ------------------------------------------------------------------------ comments

COMMENTS_OLDEST_FIRST = Keyset((Key("created_at", TIMESTAMP), Key("id", UUID_KEY)))


def comments_of(task: Task) -> QuerySet[Comment]:
    return Comment.objects.filter(task=task).select_related("author")


def comment(comment_id: uuid.UUID) -> Comment:
    return Comment.objects.select_related("author").get(pk=comment_id)


# ------------------------------------------------------------------------ activity

# Newest first in the order entries were recorded (`seq` is an identity column).
ACTIVITY_NEWEST_FIRST = Keyset((Key("seq", INT),), descending=True)


def activity_of(project: Project) -> QuerySet[Activity]:
    return Activity.objects.filter(project=project).select_related("actor")


# ------------------------------------------------------------------------ notifications

# Newest first, over notifications_user_created_idx (or, unread only, its partial twin).
NOTIFICATIONS_NEWEST_FIRST = Keyset(
    (Key("created_at", TIMESTAMP), Key("id", UUID_KEY)), descending=True
)


def notifications_of(user: User, unread: bool | None) -> QuerySet[Notification]:
    """The user's notifications, the actor joined; `unread`: True only unread ones, False only
    read ones, None all."""
    notifications = Notification.objects.filter(user=user).select_related("actor")
    if unread is not None:
        notifications = notifications.filter(read_at__isnull=unread)
    return notifications


# ------------------------------------------------------------------------ assistant


def open_tasks_for_prompt(project_id: uuid.UUID) -> list[tuple]:
    """The assistant's prompt rows (shared.assistant.prompt: open tasks, at most 50, most
    recently updated first, descriptions cut) — the shared statement, in Django's cursor."""
    with connection.cursor() as cursor:
        cursor.execute(OPEN_TASKS_SQL, [project_id])
        return cursor.fetchall()
