"""Projects (SPEC §3): the creator becomes owner; owners update and delete."""

from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import abort
from sqlalchemy import delete, func, tuple_

from impl_flask import db, pagination, queries
from impl_flask.security import current_user, require_role
from impl_flask.services.activity import record
from shared.changes import diff
from shared.httputil import if_match_fails
from shared.orm import Project, ProjectMember


def _load(project_id: uuid.UUID) -> Project:
    project = db.session().scalar(
        queries.projects_of(current_user().id).where(Project.id == project_id))
    if project is None:
        abort(404)
    return project


def create_project(name: str, description: str) -> Project:
    session = db.session()
    user = current_user()
    project = Project(name=name, description=description, created_by=user.id)
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role="owner"))
    record(project.id, "project.created", "project", project.id)
    session.flush()
    return _load(project.id)


def get_project(project_id: uuid.UUID) -> Project:
    return _load(project_id)


def list_projects(limit: int, cursor: str | None) -> dict[str, Any]:
    """The caller's projects, newest first."""
    user_id = current_user().id
    scope_id = pagination.scope("projects", user_id=user_id)
    start = pagination.after(cursor, scope_id, pagination.timestamp, pagination.as_uuid)
    query = (queries.projects_of(user_id)
             .order_by(Project.created_at.desc(), Project.id.desc()).limit(limit + 1))
    if start is not None:
        query = query.where(tuple_(Project.created_at, Project.id) < tuple_(*start))
    rows = db.session().scalars(query).all()
    return pagination.page(rows, limit, scope_id,
                           lambda p: [pagination.ts_key(p.created_at), str(p.id)])


def update_project(project_id: uuid.UUID, changes: dict[str, Any], if_match: str | None) -> Project:
    require_role(project_id, "owner", lock=True)
    project = _load(project_id)
    if if_match_fails(if_match, project.version):
        abort(412)
    changed = diff({"name": project.name, "description": project.description}, changes)
    if changed:
        for field, (_, new) in changed.items():
            setattr(project, field, new)
        project.version += 1
        project.updated_at = func.now()
        record(project.id, "project.updated", "project", project.id, changed)
        db.session().flush()
        project = _load(project_id)
    return project


def delete_project(project_id: uuid.UUID) -> None:
    """Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE)."""
    require_role(project_id, "owner", lock=True)
    db.session().execute(delete(Project).where(Project.id == project_id))
