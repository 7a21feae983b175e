"""Who may do what (SPEC §3-4). Visibility is not a permission: querysets only contain what the
caller may see (impl_drf.queries), so a non-member gets 404 before any of these run.

Object permissions read `my_role`, the caller's role in the object's project, which the
queryset annotates onto every project, task and comment it returns."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from impl_drf.models import Role

ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def has_role(role: str | None, required: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class IsAdmin(BasePermission):
    """Admins create users; being an admin grants no project access."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_admin)


class HasProjectRole(BasePermission):
    """The caller's role in the object's project is at least `view.required_roles[action]`
    (viewer when the action is not listed)."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        required = getattr(view, "required_roles", {}).get(view.action, Role.VIEWER)
        return has_role(obj.my_role, required)


class IsCommentAuthorOrOwner(BasePermission):
    """Comments: members read and comment; only the author edits (owners included: 403);
    the author or a project owner deletes."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        is_author = obj.author_id == request.user.id
        if view.action == "partial_update":
            return is_author
        if view.action == "destroy":
            return is_author or obj.my_role == Role.OWNER
        return True
