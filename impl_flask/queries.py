"""The loading recipes shared by the services: what a Project and a Task representation needs,
fetched in a bounded number of statements whatever the number of rows (no N+1)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import joinedload, selectinload, with_expression

from shared.orm import Comment, Project, ProjectMember, Task


def _task_count(status: str) -> Any:
    return (
        select(func.count())
        .where(Task.project_id == Project.id, Task.status == status)
        .correlate(Project)
        .scalar_subquery()
    )


def projects_of(user_id: uuid.UUID) -> Select[tuple[Project]]:
    """The caller's projects, each with `my_role` and `task_counts`, in one statement."""
    return (
        select(Project)
        .join(
            ProjectMember,
            and_(ProjectMember.project_id == Project.id, ProjectMember.user_id == user_id),
        )
        .options(
            with_expression(Project.my_role, ProjectMember.role),
            with_expression(Project.todo_count, _task_count("todo")),
            with_expression(Project.in_progress_count, _task_count("in_progress")),
            with_expression(Project.done_count, _task_count("done")),
        )
        # A project already in the session (just created or updated) gets the expressions too.
        .execution_options(populate_existing=True)
    )


def tasks() -> Select[tuple[Task]]:
    """Tasks with assignee and creator (joined), labels (one extra SELECT for the whole page)
    and `comment_count` (a correlated subquery in the same statement)."""
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
