"""Labels of a project: create (a duplicate name is a 409) and delete."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import NotFound

from impl_drf.errors import integrity_conflicts
from impl_drf.models import Label, Task, User
from impl_drf.services import activity, locks
from shared.vocabulary import ActivityTargetType, ActivityVerb


@transaction.atomic
def create_label(project_id: uuid.UUID, actor: User, name: str, color: str) -> Label:
    if locks.lock_project(project_id, "share") is None:  # deleted meanwhile
        raise NotFound()
    with integrity_conflicts():  # labels_project_name_ci_key: 409
        label = Label.objects.create(project_id=project_id, name=name, color=color)
    activity.record(
        project_id, actor, ActivityVerb.LABEL_CREATED, ActivityTargetType.LABEL, label.id
    )
    return label


@transaction.atomic
def delete_label(project_id: uuid.UUID, label_id: uuid.UUID, actor: User) -> None:
    """FOR UPDATE on the project: no concurrent task write attaches the label meanwhile."""
    if locks.lock_project(project_id, "update") is None:
        raise NotFound()
    label = Label.objects.filter(project_id=project_id, pk=label_id).first()
    if label is None:
        raise NotFound()
    # Tasks that lose the label changed representation: new version and updated_at.
    Task.objects.filter(labels=label).update(version=F("version") + 1, updated_at=Now())
    label.delete()
    activity.record(
        project_id, actor, ActivityVerb.LABEL_DELETED, ActivityTargetType.LABEL, label_id
    )
