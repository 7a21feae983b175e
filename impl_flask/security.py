"""Authentication (a bearer JWT naming an existing user) and project roles.

`authenticate` is a before_request hook: it runs after routing (404/405) and the body limit
(413) but before any view parses its arguments, so an anonymous request with a bad body gets
401 (contract order). Every route under /api/v1 needs a token unless its view is `public`.
Visibility (404) and roles (403) are checked by the services, after validation."""

from __future__ import annotations

import uuid
from typing import TypeVar

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import select

from impl_flask import db
from impl_flask.settings import API_PREFIX
from shared.orm import Project, ProjectMember, User
from shared.settings import get_settings
from shared.tokens import InvalidToken, bearer_token, read_token

CHALLENGE = {"WWW-Authenticate": "Bearer"}
ROLE_RANK = {"viewer": 0, "editor": 1, "owner": 2}

V = TypeVar("V", bound=type)


def public(view_class: V) -> V:
    """Mark a view that needs no token (the token endpoint itself)."""
    view_class.public = True  # type: ignore[attr-defined]
    return view_class


def authenticate() -> None:
    if request.url_rule is None or not request.path.startswith(API_PREFIX + "/"):
        return  # unrouted (the router answers 404/405) or outside the API (probes, docs)
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(getattr(view, "view_class", None), "public", False):
        return
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        abort(401, message="Not authenticated", headers=CHALLENGE)
    try:
        user_id = read_token(token, get_settings())
    except InvalidToken:
        abort(401, message="Could not validate credentials", headers=CHALLENGE)
    user = db.session().get(User, user_id)
    if user is None:  # deleted since the token was issued
        abort(401, message="Could not validate credentials", headers=CHALLENGE)
    g.current_user = user


def current_user() -> User:
    return g.current_user


def require_role(project_id: uuid.UUID, minimum: str = "viewer", *, lock: bool = False) -> str:
    """The caller's role in the project: 404 when not a member (no existence leak), 403 below
    `minimum`. `lock` takes the project's row lock first, serialising the changes that need a
    stable membership or version (last-owner rule, If-Match)."""
    session = db.session()
    if lock:
        locked = session.scalar(
            select(Project.id).where(Project.id == project_id).with_for_update()
        )
        if locked is None:
            abort(404)
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == current_user().id
        )
    )
    if role is None:
        abort(404)
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        abort(403)
    return role
