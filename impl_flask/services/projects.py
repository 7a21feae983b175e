"""Projects (createProject, listProjects, getProject, updateProject, deleteProject): the creator
becomes owner; owners update and delete."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort
from sqlalchemy import delete, func

from impl_flask import db
from impl_flask.conditional import require_match
from impl_flask.pagination import paginate
from impl_flask.permissions import require_role
from impl_flask.security import current_user
from impl_flask.services import locks
from impl_flask.services.activity import record
from shared import selects
from shared.changes import diff
from shared.cursors import scope
from shared.orm import Project, ProjectMember
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def create_project(name: str, description: str) -> Project:
    session = db.session()
    user = current_user()
    project = Project(name=name, description=description, created_by=user.id)
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=Role.OWNER))
    record(project.id, ActivityVerb.PROJECT_CREATED, ActivityTargetType.PROJECT, project.id)
    session.flush()
    return _load(project.id)


def get_project(project_id: uuid.UUID) -> Project:
    """Members only: one statement is the visibility check and the representation."""
    return _load(project_id)


def list_projects(limit: int, cursor: str | None) -> dict[str, Any]:
    """The caller's projects, newest first."""
    user_id = current_user().id
    return paginate(
        selects.projects_of(user_id),
        selects.PROJECTS_NEWEST_FIRST,
        limit,
        cursor,
        scope("projects", user_id=user_id),
    )


def update_project(project_id: uuid.UUID, changes: dict[str, Any], if_match: str | None) -> Project:
    require_role(project_id, Role.OWNER)
    locks.lock_project(project_id, "update")
    project = _load(project_id)  # the representation as the lock leaves it
    require_match(if_match, project)
    changed = diff({"name": project.name, "description": project.description}, changes)
    if changed:
        for field, (_, new) in changed.items():
            setattr(project, field, new)
        project.version += 1
        project.updated_at = func.now()
        record(
            project.id,
            ActivityVerb.PROJECT_UPDATED,
            ActivityTargetType.PROJECT,
            project.id,
            changed,
        )
        db.session().flush()
        project = _load(project_id)
    return project


def delete_project(project_id: uuid.UUID) -> None:
    """Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE)."""
    require_role(project_id, Role.OWNER)
    locks.lock_project(project_id, "update")
    db.session().execute(delete(Project).where(Project.id == project_id))


def _load(project_id: uuid.UUID) -> Project:
    """The project as the caller sees it (`my_role`, `task_counts`); 404 unless a member."""
    project = db.session().scalar(
        selects.projects_of(current_user().id).where(Project.id == project_id)
    )
    if project is None:
        abort(404)
    return project
