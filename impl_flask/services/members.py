"""Project membership (listMembers, putMember, removeMember): owners manage members; a project
never loses its last owner."""

from __future__ import annotations

import uuid

from flask_smorest import abort
from sqlalchemy import func, update

from impl_flask import db
from impl_flask.permissions import require_role
from impl_flask.services import locks
from impl_flask.services.activity import record
from shared import problems, selects
from shared.orm import ProjectMember, Task, User
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def list_members(project_id: uuid.UUID) -> list[ProjectMember]:
    """By display name, then user id."""
    require_role(project_id)
    return list(db.session().scalars(selects.members_of(project_id)))


def put_member(project_id: uuid.UUID, user_id: uuid.UUID, role: Role) -> tuple[ProjectMember, bool]:
    """Add the user (True: created) or set their role. The project row lock serialises
    membership changes, so two owners demoting each other cannot both succeed."""
    require_role(project_id, Role.OWNER)
    locks.lock_project(project_id, "update")
    session = db.session()
    member = _member(project_id, user_id)
    if member is None:
        if session.get(User, user_id) is None:
            abort(404, message=problems.NO_SUCH_USER)
        session.add(ProjectMember(project_id=project_id, user_id=user_id, role=role))
        record(project_id, ActivityVerb.MEMBER_ADDED, ActivityTargetType.MEMBER, user_id)
        session.flush()
        added = _member(project_id, user_id)
        assert added is not None
        return added, True
    if member.role != role:
        if member.role == Role.OWNER:
            _keep_an_owner(project_id)
        record(
            project_id,
            ActivityVerb.MEMBER_UPDATED,
            ActivityTargetType.MEMBER,
            user_id,
            {"role": [member.role, role]},
        )
        member.role = role
        session.flush()
    return member, False


def remove_member(project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Clears the user's assignments in the project; each affected task changes version and gets
    its task.updated entry. The project row lock holds off task writes, so none assigns the user
    while they go."""
    require_role(project_id, Role.OWNER)
    locks.lock_project(project_id, "update")
    session = db.session()
    member = _member(project_id, user_id)
    if member is None:
        abort(404, message=problems.NO_SUCH_MEMBER)
    if member.role == Role.OWNER:
        _keep_an_owner(project_id)
    unassigned = session.scalars(
        update(Task)
        .where(Task.project_id == project_id, Task.assignee_id == user_id)
        .values(assignee_id=None, version=Task.version + 1, updated_at=func.now())
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    ).all()
    # Every version bump has its task.updated, in task id order, before member.removed.
    for task_id in sorted(unassigned):
        record(
            project_id,
            ActivityVerb.TASK_UPDATED,
            ActivityTargetType.TASK,
            task_id,
            {"assignee_id": [str(user_id), None]},
        )
    session.delete(member)
    record(project_id, ActivityVerb.MEMBER_REMOVED, ActivityTargetType.MEMBER, user_id)


def _member(project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    return db.session().scalar(selects.member(project_id, user_id))


def _keep_an_owner(project_id: uuid.UUID) -> None:
    """409 when the owner about to be demoted or removed is the project's last one."""
    if db.session().scalar(selects.owner_count(project_id)) == 1:
        abort(409, message=problems.LAST_OWNER)
