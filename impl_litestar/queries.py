"""Data access and the transactional work of each operation, on the request's AsyncSession.

Every change and its activity entry share the request's one transaction (db.provide_db_session
commits it). Lists load their relations with a fixed number of statements per page
(selectinload, joined loads and correlated subqueries), whatever the page size."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from litestar.exceptions import NotFoundException
from sqlalchemy import Select, delete, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload, with_expression

from impl_litestar import schemas
from impl_litestar.errors import (
    ConflictException,
    PreconditionFailedException,
    RequestValidationFailed,
    invalid_reference,
)
from impl_litestar.pagination import PageParams, Window, paginate
from impl_litestar.schemas import ActivityTargetType, ActivityVerb, Role, TaskSort
from shared.changes import diff, request_form, task_request_form
from shared.cursors import DATE, INT, TEXT, TIMESTAMP, scope
from shared.cursors import UUID as UUID_KEY
from shared.httputil import if_match_fails, like_escape
from shared.keyset import Key, Keyset
from shared.orm import (
    Activity,
    Comment,
    Label,
    Project,
    ProjectMember,
    Task,
    User,
    task_labels,
)

# ---------------------------------------------------------------------------------- activity


def record(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    actor: User,
    verb: ActivityVerb,
    target_type: ActivityTargetType,
    target_id: uuid.UUID,
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        Activity(
            project_id=project_id,
            actor_id=actor.id,
            verb=verb.value,
            target_type=target_type.value,
            target_id=target_id,
            changes=changes or {},
        )
    )


_ACTIVITY_NEWEST_FIRST = Keyset((Key(Activity.seq, INT),), descending=True)


async def list_activity(session: AsyncSession, project_id: uuid.UUID, params: PageParams) -> Window:
    statement = (
        select(Activity)
        .where(Activity.project_id == project_id)
        .options(joinedload(Activity.actor))
    )
    return await paginate(
        session, statement, _ACTIVITY_NEWEST_FIRST, params, scope("activity", project_id=project_id)
    )


# ------------------------------------------------------------------------------------- users

_USERS_BY_NAME = Keyset((Key(User.display_name, TEXT), Key(User.id, UUID_KEY)))


async def list_users(session: AsyncSession, q: str | None, params: PageParams) -> Window:
    statement = select(User)
    if q is not None:
        prefix = like_escape(q.lower()) + "%"
        statement = statement.where(
            func.lower(User.email).like(prefix, escape="\\")
            | func.lower(User.display_name).like(prefix, escape="\\")
        )
    return await paginate(session, statement, _USERS_BY_NAME, params, scope("users", q=q))


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    if (user := await session.get(User, user_id)) is None:
        raise NotFoundException()
    return user


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def create_user(session: AsyncSession, body: schemas.UserCreate, password_hash: str) -> User:
    user = User(
        email=body.email.lower(),
        display_name=body.display_name,
        password_hash=password_hash,
        is_admin=body.is_admin,
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ConflictException(detail="A user with this email already exists.") from None
    return user


# ---------------------------------------------------------------------------------- projects


async def member_role(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> str | None:
    return await session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def _projects_of(user_id: uuid.UUID) -> Select[Any]:
    """Projects the user is a member of, with their role and task counts in the same query."""
    counts = (
        select(
            func.count().filter(Task.status == "todo").label("todo"),
            func.count().filter(Task.status == "in_progress").label("in_progress"),
            func.count().filter(Task.status == "done").label("done"),
        )
        .where(Task.project_id == Project.id)
        .lateral("task_counts")
    )
    return (
        select(Project)
        .join(
            ProjectMember,
            (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == user_id),
        )
        .join(counts, true())
        .options(
            with_expression(Project.my_role, ProjectMember.role),
            with_expression(Project.todo_count, counts.c.todo),
            with_expression(Project.in_progress_count, counts.c.in_progress),
            with_expression(Project.done_count, counts.c.done),
        )
    )


def project_out(project: Project) -> schemas.Project:
    counts = schemas.TaskCounts(
        todo=project.todo_count, in_progress=project.in_progress_count, done=project.done_count
    )
    return schemas.Project.of(project, project.my_role, counts)


async def load_project(session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> Project:
    statement = (
        _projects_of(user_id)
        .where(Project.id == project_id)
        .execution_options(populate_existing=True)
    )
    if (project := await session.scalar(statement)) is None:
        raise NotFoundException()
    return project


_PROJECTS_NEWEST_FIRST = Keyset(
    (Key(Project.created_at, TIMESTAMP), Key(Project.id, UUID_KEY)), descending=True
)


async def list_projects(session: AsyncSession, user: User, params: PageParams) -> Window:
    return await paginate(
        session,
        _projects_of(user.id),
        _PROJECTS_NEWEST_FIRST,
        params,
        scope("projects", user_id=user.id),
    )


async def create_project(session: AsyncSession, user: User, body: schemas.ProjectCreate) -> Project:
    project = Project(name=body.name, description=body.description, created_by=user.id)
    session.add(project)
    await session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER.value))
    record(
        session,
        project_id=project.id,
        actor=user,
        verb=ActivityVerb.PROJECT_CREATED,
        target_type=ActivityTargetType.PROJECT,
        target_id=project.id,
    )
    await session.flush()
    return await load_project(session, project.id, user.id)


async def update_project(
    session: AsyncSession,
    user: User,
    project_id: uuid.UUID,
    body: schemas.ProjectUpdate,
    if_match: str | None,
) -> Project:
    project = await session.scalar(
        select(Project).where(Project.id == project_id).with_for_update()
    )
    if project is None:
        raise NotFoundException()
    if if_match_fails(if_match, project.version):
        raise PreconditionFailedException()
    requested = {
        name: value
        for name, value in (("name", body.name), ("description", body.description))
        if value is not msgspec.UNSET
    }
    if changes := diff({"name": project.name, "description": project.description}, requested):
        for field, (_, new) in changes.items():
            setattr(project, field, new)
        project.version += 1
        project.updated_at = func.now()
        record(
            session,
            project_id=project.id,
            actor=user,
            verb=ActivityVerb.PROJECT_UPDATED,
            target_type=ActivityTargetType.PROJECT,
            target_id=project.id,
            changes=changes,
        )
        await session.flush()
    return await load_project(session, project_id, user.id)


async def delete_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    # ON DELETE CASCADE takes members, labels, tasks, comments and activity along.
    await session.execute(delete(Project).where(Project.id == project_id))


# ----------------------------------------------------------------------------------- members


async def list_members(session: AsyncSession, project_id: uuid.UUID) -> list[ProjectMember]:
    statement = (
        select(ProjectMember)
        .join(ProjectMember.user)
        .where(ProjectMember.project_id == project_id)
        .options(joinedload(ProjectMember.user))
        .order_by(User.display_name, User.id)
    )
    return list(await session.scalars(statement))


async def _lock_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Serialise membership changes of one project (the last-owner rule reads then writes)."""
    await session.execute(select(Project.id).where(Project.id == project_id).with_for_update())


async def _owner_count(session: AsyncSession, project_id: uuid.UUID) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER.value)
        )
        or 0
    )


async def _member(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> ProjectMember | None:
    return await session.scalar(
        select(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        .options(joinedload(ProjectMember.user))
        .execution_options(populate_existing=True)
    )


async def put_member(
    session: AsyncSession, actor: User, project_id: uuid.UUID, user_id: uuid.UUID, role: Role
) -> tuple[ProjectMember, bool]:
    """Add the user (True) or set their role (False)."""
    await _lock_project(session, project_id)
    await get_user(session, user_id)  # unknown user → 404
    member = await _member(session, project_id, user_id)
    if member is None:
        session.add(ProjectMember(project_id=project_id, user_id=user_id, role=role.value))
        record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.MEMBER_ADDED,
            target_type=ActivityTargetType.MEMBER,
            target_id=user_id,
        )
        await session.flush()
        added = await _member(session, project_id, user_id)
        assert added is not None
        return added, True
    if member.role != role.value:
        if member.role == Role.OWNER.value and await _owner_count(session, project_id) <= 1:
            raise ConflictException(detail="A project must keep at least one owner.")
        changes = {"role": [member.role, role.value]}
        member.role = role.value
        record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.MEMBER_UPDATED,
            target_type=ActivityTargetType.MEMBER,
            target_id=user_id,
            changes=changes,
        )
        await session.flush()
    return member, False


async def remove_member(
    session: AsyncSession, actor: User, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    await _lock_project(session, project_id)
    member = await _member(session, project_id, user_id)
    if member is None:
        raise NotFoundException()
    if member.role == Role.OWNER.value and await _owner_count(session, project_id) <= 1:
        raise ConflictException(detail="A project must keep at least one owner.")
    await session.delete(member)
    # Their assignments go; each affected task's representation changed, so bump it.
    await session.execute(
        update(Task)
        .where(Task.project_id == project_id, Task.assignee_id == user_id)
        .values(assignee_id=None, version=Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.MEMBER_REMOVED,
        target_type=ActivityTargetType.MEMBER,
        target_id=user_id,
    )
    await session.flush()


# ------------------------------------------------------------------------------------ labels


async def list_labels(session: AsyncSession, project_id: uuid.UUID) -> list[Label]:
    return list(
        await session.scalars(
            select(Label).where(Label.project_id == project_id).order_by(Label.name, Label.id)
        )
    )


async def create_label(
    session: AsyncSession, actor: User, project_id: uuid.UUID, body: schemas.LabelCreate
) -> Label:
    label = Label(project_id=project_id, name=body.name, color=body.color)
    session.add(label)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ConflictException(
            detail="A label with this name already exists in the project."
        ) from None
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.LABEL_CREATED,
        target_type=ActivityTargetType.LABEL,
        target_id=label.id,
    )
    await session.flush()
    return label


async def delete_label(
    session: AsyncSession, actor: User, project_id: uuid.UUID, label_id: uuid.UUID
) -> None:
    label = await session.scalar(
        select(Label).where(Label.id == label_id, Label.project_id == project_id)
    )
    if label is None:
        raise NotFoundException()
    # The tasks that carried it change representation: new version and updated_at.
    await session.execute(
        update(Task)
        .where(Task.id.in_(select(task_labels.c.task_id).where(task_labels.c.label_id == label_id)))
        .values(version=Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.delete(label)
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.LABEL_DELETED,
        target_type=ActivityTargetType.LABEL,
        target_id=label_id,
    )
    await session.flush()


# ------------------------------------------------------------------------------------- tasks

_TASK_ID = Key(Task.id, UUID_KEY)
_TASK_SORTS: dict[TaskSort, Keyset] = {
    TaskSort.NEWEST: Keyset((Key(Task.created_at, TIMESTAMP), _TASK_ID), descending=True),
    TaskSort.OLDEST: Keyset((Key(Task.created_at, TIMESTAMP), _TASK_ID)),
    TaskSort.DUE_SOONEST: Keyset((Key(Task.due_date, DATE, nullable=True), _TASK_ID)),
    TaskSort.DUE_LATEST: Keyset(
        (Key(Task.due_date, DATE, nullable=True), _TASK_ID), descending=True
    ),
    TaskSort.PRIORITY_LOWEST: Keyset((Key(Task.priority_rank, INT), _TASK_ID)),
    TaskSort.PRIORITY_HIGHEST: Keyset((Key(Task.priority_rank, INT), _TASK_ID), descending=True),
}


def _tasks() -> Select[Any]:
    """Tasks with everything their representation needs: 1 statement + 1 for the labels."""
    comment_count = (
        select(func.count()).where(Comment.task_id == Task.id).correlate(Task).scalar_subquery()
    )
    return select(Task).options(
        joinedload(Task.assignee),
        joinedload(Task.created_by),
        selectinload(Task.labels),
        with_expression(Task.comment_count, comment_count),
    )


async def load_task(session: AsyncSession, task_id: uuid.UUID) -> Task:
    statement = _tasks().where(Task.id == task_id).execution_options(populate_existing=True)
    if (task := await session.scalar(statement)) is None:
        raise NotFoundException()
    return task


async def task_role(
    session: AsyncSession, task_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The task's project and the user's role there; None when missing or not a member."""
    row = (
        await session.execute(
            select(Task.project_id, ProjectMember.role)
            .join(
                ProjectMember,
                (ProjectMember.project_id == Task.project_id) & (ProjectMember.user_id == user_id),
            )
            .where(Task.id == task_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: list[schemas.TaskStatus] | None
    priority: list[schemas.TaskPriority] | None
    assignee_id: uuid.UUID | None
    label_id: uuid.UUID | None
    due_before: date | None
    q: str | None
    sort: TaskSort


async def list_tasks(
    session: AsyncSession, project_id: uuid.UUID, filters: TaskFilters, params: PageParams
) -> Window:
    statement = _tasks().where(Task.project_id == project_id)
    if filters.status:
        statement = statement.where(Task.status.in_([s.value for s in filters.status]))
    if filters.priority:
        statement = statement.where(Task.priority.in_([p.value for p in filters.priority]))
    if filters.assignee_id is not None:
        statement = statement.where(Task.assignee_id == filters.assignee_id)
    if filters.label_id is not None:
        statement = statement.where(Task.labels.any(Label.id == filters.label_id))
    if filters.due_before is not None:
        statement = statement.where(Task.due_date < filters.due_before)  # NULL never matches
    if filters.q is not None:
        statement = statement.where(Task.title.ilike(f"%{like_escape(filters.q)}%", escape="\\"))
    list_scope = scope(
        "tasks",
        project_id=project_id,
        status=filters.status,
        priority=filters.priority,
        assignee_id=filters.assignee_id,
        label_id=filters.label_id,
        due_before=filters.due_before,
        q=filters.q,
        sort=filters.sort.value,
    )
    return await paginate(session, statement, _TASK_SORTS[filters.sort], params, list_scope)


async def _check_references(
    session: AsyncSession,
    project_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    label_ids: list[uuid.UUID] | None,
) -> list[Label] | None:
    """The labels named by `label_ids`; 422 invalid_reference for a non-member assignee or a
    label of another project (every bad reference listed)."""
    errors = []
    if assignee_id is not None and await member_role(session, project_id, assignee_id) is None:
        errors.append(
            invalid_reference(
                ["body", "assignee_id"], "The assignee is not a member of the project"
            )
        )
    labels: list[Label] | None = None
    if label_ids is not None:
        found = {
            label.id: label
            for label in await session.scalars(
                select(Label).where(Label.project_id == project_id, Label.id.in_(label_ids))
            )
        }
        errors.extend(
            invalid_reference(["body", "label_ids", index], "No such label in the project")
            for index, label_id in enumerate(label_ids)
            if label_id not in found
        )
        labels = [found[label_id] for label_id in label_ids if label_id in found]
    if errors:
        raise RequestValidationFailed(errors)
    return labels


async def create_task(
    session: AsyncSession, actor: User, project_id: uuid.UUID, body: schemas.TaskCreate
) -> Task:
    labels = await _check_references(session, project_id, body.assignee_id, body.label_ids)
    task = Task(
        project_id=project_id,
        title=body.title,
        description=body.description,
        status=body.status.value,
        priority=body.priority.value,
        assignee_id=body.assignee_id,
        due_date=body.due_date,
        created_by_id=actor.id,
        labels=labels or [],
    )
    session.add(task)
    await session.flush()
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_CREATED,
        target_type=ActivityTargetType.TASK,
        target_id=task.id,
    )
    await session.flush()
    return await load_task(session, task.id)


async def update_task(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    body: schemas.TaskUpdate,
    if_match: str | None,
) -> Task:
    assignee_id = body.assignee_id if body.assignee_id is not msgspec.UNSET else None
    label_ids = body.label_ids if body.label_ids is not msgspec.UNSET else None
    labels = await _check_references(session, project_id, assignee_id, label_ids)
    await session.execute(select(Task.id).where(Task.id == task_id).with_for_update())
    task = await load_task(session, task_id)
    if if_match_fails(if_match, task.version):
        raise PreconditionFailedException()
    requested = {
        name: value
        for name, value in msgspec.structs.asdict(body).items()
        if value is not msgspec.UNSET
    }
    requested = msgspec.to_builtins(requested)  # request form: uuids/dates as strings
    changes = diff(
        task_request_form(task, [label.id for label in task.labels]), request_form(requested)
    )
    if not changes:
        return task
    for field in changes.keys() - {"label_ids"}:
        setattr(
            task,
            field,
            getattr(body, field).value if field in ("status", "priority") else getattr(body, field),
        )
    if "label_ids" in changes:
        task.labels = labels or []
    task.version += 1
    task.updated_at = func.now()
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_UPDATED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
        changes=changes,
    )
    await session.flush()
    return await load_task(session, task_id)


async def delete_task(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: str | None,
) -> None:
    version = await session.scalar(select(Task.version).where(Task.id == task_id).with_for_update())
    if version is None:
        raise NotFoundException()
    if if_match_fails(if_match, version):
        raise PreconditionFailedException()
    await session.execute(delete(Task).where(Task.id == task_id))
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.TASK_DELETED,
        target_type=ActivityTargetType.TASK,
        target_id=task_id,
    )
    await session.flush()


# ---------------------------------------------------------------------------------- comments

_COMMENTS_OLDEST_FIRST = Keyset((Key(Comment.created_at, TIMESTAMP), Key(Comment.id, UUID_KEY)))


async def list_comments(session: AsyncSession, task_id: uuid.UUID, params: PageParams) -> Window:
    statement = (
        select(Comment).where(Comment.task_id == task_id).options(joinedload(Comment.author))
    )
    return await paginate(
        session, statement, _COMMENTS_OLDEST_FIRST, params, scope("comments", task_id=task_id)
    )


async def comment_with_role(
    session: AsyncSession, comment_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Comment, uuid.UUID, str] | None:
    row = (
        await session.execute(
            select(Comment, Task.project_id, ProjectMember.role)
            .join(Task, Task.id == Comment.task_id)
            .join(
                ProjectMember,
                (ProjectMember.project_id == Task.project_id) & (ProjectMember.user_id == user_id),
            )
            .where(Comment.id == comment_id)
            .options(joinedload(Comment.author))
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def create_comment(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    task_id: uuid.UUID,
    body: schemas.CommentCreate,
) -> Comment:
    comment = Comment(task_id=task_id, author_id=actor.id, body=body.body)
    session.add(comment)
    await session.flush()
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.COMMENT_CREATED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment.id,
    )
    await session.flush()
    return await session.scalar(
        select(Comment)
        .where(Comment.id == comment.id)
        .options(joinedload(Comment.author))
        .execution_options(populate_existing=True)
    )


async def update_comment(
    session: AsyncSession,
    actor: User,
    project_id: uuid.UUID,
    comment: Comment,
    body: schemas.CommentUpdate,
) -> Comment:
    if changes := diff({"body": comment.body}, {"body": body.body}):
        comment.body = body.body
        comment.updated_at = func.now()
        record(
            session,
            project_id=project_id,
            actor=actor,
            verb=ActivityVerb.COMMENT_UPDATED,
            target_type=ActivityTargetType.COMMENT,
            target_id=comment.id,
            changes=changes,
        )
        await session.flush()
        await session.refresh(comment, ["updated_at"])
    return comment


async def delete_comment(
    session: AsyncSession, actor: User, project_id: uuid.UUID, comment: Comment
) -> None:
    await session.delete(comment)
    record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.COMMENT_DELETED,
        target_type=ActivityTargetType.COMMENT,
        target_id=comment.id,
    )
    await session.flush()
