"""Authorization: who may see (404) and do (403) what (contract/DECISIONS.md, "Errors", steps
7-8), in DRF's idiom.

Visibility is the queryset: impl_drf.selectors' `visible_*` / `*_for(user)` querysets hold only
what the caller may see — the projects they are a member of and what those hold — so a view's
get_object() answers 404 (never 403) for anything else, identical for "not a member" and "does
not exist". The permission classes here then check what the caller may do with an object they
can see, reading `my_role`, the caller's role in the object's project, which those querysets
annotate. Both run before any lock or write (the services take their locks afterwards)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from shared.problems import ADMINS_ONLY, ONLY_AUTHOR_EDITS, ONLY_AUTHOR_OR_OWNER_DELETES
from shared.vocabulary import Role


class IsAdmin(BasePermission):
    """Admins create users; being an admin grants no project access."""

    message = ADMINS_ONLY

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_admin)


class ProjectPermission(BasePermission):
    """The caller's role in the object's project is at least `view.required_roles[action]`
    (viewer when the action is not listed): viewers read and comment, editors also write
    tasks and labels, owners also change the project and its members. The object is a model
    instance or a `values()` row (getTask: impl_drf.selectors.tasks_for)."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        required = getattr(view, "required_roles", {}).get(view.action, Role.VIEWER)
        my_role = obj["my_role"] if isinstance(obj, dict) else obj.my_role
        return my_role is not None and Role(my_role).at_least(required)


class IsCommentAuthorOrOwner(BasePermission):
    """Comments: only the author edits (project owners included: 403); the author or a
    project owner deletes."""

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        is_author = obj.author_id == request.user.id
        if view.action == "partial_update":
            self.message = ONLY_AUTHOR_EDITS
            return is_author
        if view.action == "destroy":
            self.message = ONLY_AUTHOR_OR_OWNER_DELETES
            return is_author or obj.my_role == Role.OWNER
        return True
