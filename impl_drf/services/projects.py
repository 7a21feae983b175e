"""Projects: create (the creator becomes the owner), update with If-Match, delete."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import NotFound

from impl_drf import selectors
from impl_drf.conditional import IfMatch
from impl_drf.models import Project, ProjectMember, User
from impl_drf.services import activity, locks
from shared.changes import diff
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def _as_seen_by(actor: User, project_id: uuid.UUID) -> Project:
    """The project for the answer (`my_role`, `task_counts`), read before the commit: after
    it, a concurrent deletion could make the re-read find nothing."""
    return selectors.projects_for(actor).get(pk=project_id)


@transaction.atomic
def create_project(actor: User, name: str, description: str) -> Project:
    project = Project.objects.create(name=name, description=description, created_by=actor)
    ProjectMember.objects.create(project=project, user=actor, role=Role.OWNER)
    activity.record(
        project.id, actor, ActivityVerb.PROJECT_CREATED, ActivityTargetType.PROJECT, project.id
    )
    return _as_seen_by(actor, project.id)


@transaction.atomic
def update_project(
    project_id: uuid.UUID, actor: User, requested: dict[str, Any], if_match: IfMatch
) -> Project:
    project = locks.lock_project(project_id, "update")
    if project is None:  # deleted since the view looked it up
        raise NotFound()
    if_match.check()
    changes = diff({"name": project.name, "description": project.description}, requested)
    if not changes:
        return _as_seen_by(actor, project_id)
    Project.objects.filter(pk=project_id).update(
        **{field: new for field, (_, new) in changes.items()},
        version=F("version") + 1,
        updated_at=Now(),
    )
    activity.record(
        project_id,
        actor,
        ActivityVerb.PROJECT_UPDATED,
        ActivityTargetType.PROJECT,
        project_id,
        changes,
    )
    return _as_seen_by(actor, project_id)


@transaction.atomic
def delete_project(project_id: uuid.UUID) -> None:
    """Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE)."""
    if locks.lock_project(project_id, "update") is None:
        raise NotFound()
    Project.objects.filter(pk=project_id).delete()
