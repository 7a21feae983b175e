"""Authorization: who may see a project, a task or a comment (404 otherwise — not a member and
does not exist read the same, so nothing leaks) and who may act on it (403).

The services call these after validation (422 comes first, contract/DECISIONS.md "Errors") and
before any lock, so a caller who may not act never waits for one ("Locks"). Each check is one
statement joining the caller's membership (shared.selects); roles compare by their rank in
shared.vocabulary.Role."""

from __future__ import annotations

import uuid

from flask_smorest import abort

from impl_flask import db
from impl_flask.security import current_user
from shared import problems, selects
from shared.orm import Comment
from shared.vocabulary import Role


def require_role(project_id: uuid.UUID, minimum: Role = Role.VIEWER) -> Role:
    """The caller's role in the project, at least `minimum`."""
    parameters = {"project_id": project_id, "user_id": current_user().id}
    role = db.session().scalar(selects.MEMBER_ROLE, parameters)
    return _at_least(role, minimum)


def require_task_role(task_id: uuid.UUID, minimum: Role = Role.VIEWER) -> uuid.UUID:
    """The task's project, once the caller's role there is at least `minimum`."""
    row = db.session().execute(selects.task_standing(task_id, current_user().id)).first()
    if row is None:
        abort(404)
    project_id, role = row
    _at_least(role, minimum)
    return project_id


def visible_comment(comment_id: uuid.UUID) -> tuple[Comment, uuid.UUID, Role]:
    """The comment (author loaded), its task's project and the caller's role there."""
    row = db.session().execute(selects.comment_standing(comment_id, current_user().id)).first()
    if row is None:
        abort(404)
    comment, project_id, role = row
    return comment, project_id, Role(role)


def require_comment_author(comment: Comment) -> None:
    """Only the author edits a comment; owners included in the 403 (updateComment)."""
    if comment.author_id != current_user().id:
        abort(403, message=problems.ONLY_AUTHOR_EDITS)


def require_comment_author_or_owner(comment: Comment, role: Role) -> None:
    """The author or a project owner deletes a comment (deleteComment)."""
    if comment.author_id != current_user().id and role is not Role.OWNER:
        abort(403, message=problems.ONLY_AUTHOR_OR_OWNER_DELETES)


def require_admin() -> None:
    """Administrators create users (createUser); `is_admin` grants nothing in projects."""
    if not current_user().is_admin:
        abort(403, message=problems.ADMINS_ONLY)


def _at_least(role: str | None, minimum: Role) -> Role:
    if role is None:
        abort(404)
    granted = Role(role)
    if not granted.at_least(minimum):
        abort(403)
    return granted
