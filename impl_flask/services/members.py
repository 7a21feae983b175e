"""Project membership (SPEC §3): owners manage members; a project never loses its last owner."""

from __future__ import annotations

import uuid

from flask_smorest import abort
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from impl_flask import db
from impl_flask.permissions import require_role
from impl_flask.services.activity import record
from shared import problems, selects
from shared.orm import ProjectMember, Task, User
from shared.vocabulary import Role


def list_members(project_id: uuid.UUID) -> list[ProjectMember]:
    """By display name, then user id."""
    require_role(project_id)
    return list(
        db.session()
        .scalars(
            select(ProjectMember)
            .join(ProjectMember.user)
            .options(joinedload(ProjectMember.user))
            .where(ProjectMember.project_id == project_id)
            .order_by(User.display_name, User.id)
        )
        .all()
    )


def _owner_count(project_id: uuid.UUID) -> int:
    return (
        db.session().scalar(
            select(func.count()).where(
                ProjectMember.project_id == project_id, ProjectMember.role == "owner"
            )
        )
        or 0
    )


def _membership(project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    return db.session().scalar(
        select(ProjectMember)
        .options(joinedload(ProjectMember.user))
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        .execution_options(populate_existing=True)
    )


def put_member(project_id: uuid.UUID, user_id: uuid.UUID, role: str) -> tuple[ProjectMember, bool]:
    """Add the user (True: created) or set their role. The project row lock serialises
    membership changes, so two owners demoting each other cannot both succeed."""
    require_role(project_id, Role.OWNER)
    db.lock(selects.lock_project(project_id, "update"))
    session = db.session()
    member = _membership(project_id, user_id)
    if member is None:
        if session.get(User, user_id) is None:
            abort(404, message=problems.NO_SUCH_USER)
        member = ProjectMember(project_id=project_id, user_id=user_id, role=role)
        session.add(member)
        record(project_id, "member.added", "member", user_id)
        session.flush()
        return _membership(project_id, user_id) or member, True
    if member.role != role:
        if member.role == Role.OWNER and _owner_count(project_id) == 1:
            abort(409, message=problems.LAST_OWNER)
        record(project_id, "member.updated", "member", user_id, {"role": [member.role, role]})
        member.role = role
        session.flush()
    return member, False


def remove_member(project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Clears the user's assignments in the project; each affected task changes version. The
    project row lock holds off task writes, so none assigns the user while they go."""
    require_role(project_id, Role.OWNER)
    db.lock(selects.lock_project(project_id, "update"))
    session = db.session()
    member = _membership(project_id, user_id)
    if member is None:
        abort(404, message=problems.NO_SUCH_MEMBER)
    if member.role == Role.OWNER and _owner_count(project_id) == 1:
        abort(409, message=problems.LAST_OWNER)
    session.execute(
        update(Task)
        .where(Task.project_id == project_id, Task.assignee_id == user_id)
        .values(assignee_id=None, version=Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    session.delete(member)
    record(project_id, "member.removed", "member", user_id)
