"""Read-side querysets: what a caller may see, with everything its representation needs loaded
in a fixed number of statements (select_related for to-one, prefetch_related for labels,
annotations for roles and counts) — whatever the page size.

Visibility is the queryset: a project, task or comment the caller is not a member of is simply
not in it, so DRF's get_object() answers 404 (never 403) for it.
"""

from __future__ import annotations

from django.db.models import Count, F, Prefetch, Q, QuerySet

from impl_drf.models import Activity, Comment, Label, Membership, Project, Task, TaskStatus, User


def projects_for(user: User) -> QuerySet[Project]:
    """The caller's projects, each with `my_role` and the task counts per status."""
    return Project.objects.filter(memberships__user=user).annotate(
        # reuses the membership join of the filter: the caller's own row
        my_role=F("memberships__role"),
        todo_count=Count("tasks", filter=Q(tasks__status=TaskStatus.TODO)),
        in_progress_count=Count("tasks", filter=Q(tasks__status=TaskStatus.IN_PROGRESS)),
        done_count=Count("tasks", filter=Q(tasks__status=TaskStatus.DONE)),
    )


def members_of(project: Project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("user__display_name", "user_id")
    )


def labels_of(project: Project) -> QuerySet[Label]:
    return Label.objects.filter(project=project).order_by("name", "id")


def _with_task_relations(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return (
        tasks.select_related("assignee", "created_by")
        .prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("name", "id")))
        .annotate(comment_count=Count("comments"))
    )


def visible_tasks(user: User) -> QuerySet[Task]:
    """Every task the caller may see, each with `my_role` in its project (no relations)."""
    return Task.objects.filter(project__memberships__user=user).annotate(
        my_role=F("project__memberships__role")
    )


def tasks_for(user: User) -> QuerySet[Task]:
    """Every task the caller may see, ready to render."""
    return _with_task_relations(visible_tasks(user))


def tasks_of(project: Project) -> QuerySet[Task]:
    return _with_task_relations(Task.objects.filter(project=project))


def comments_for(user: User) -> QuerySet[Comment]:
    """Every comment the caller may see, each with `my_role` in its task's project."""
    return (
        Comment.objects.filter(task__project__memberships__user=user)
        .annotate(my_role=F("task__project__memberships__role"), project_id=F("task__project_id"))
        .select_related("author")
    )


def comments_of(task: Task) -> QuerySet[Comment]:
    return Comment.objects.filter(task=task).select_related("author")


def activity_of(project: Project) -> QuerySet[Activity]:
    return Activity.objects.filter(project=project).select_related("actor")


def users_matching(prefix: str | None) -> QuerySet[User]:
    """Users whose email or display name starts with `prefix`, case-insensitively.

    `istartswith` escapes LIKE wildcards itself, so `%` and `_` in `q` match literally."""
    users = User.objects.all()
    if prefix:
        users = users.filter(Q(email__istartswith=prefix) | Q(display_name__istartswith=prefix))
    return users
