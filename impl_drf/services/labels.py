"""Labels of a project: create (a duplicate name is a 409) and delete."""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import NotFound

from impl_drf.errors import integrity_conflicts
from impl_drf.models import Label, Task, TaskLabel, User
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
    # Tasks that lose the label changed: new version and updated_at, and each its
    # `task.updated` with the label ids before and after (task id order), before
    # `label.deleted`.
    labelled = TaskLabel.objects.filter(label_id=label_id).values("task_id")
    before: dict[uuid.UUID, list[str]] = defaultdict(list)
    for task_id, other_id in TaskLabel.objects.filter(task_id__in=labelled).values_list(
        "task_id", "label_id"
    ):
        before[task_id].append(str(other_id))
    Task.objects.filter(pk__in=labelled).update(version=F("version") + 1, updated_at=Now())
    label.delete()
    gone = str(label_id)
    activity.record_task_updates(
        project_id,
        actor,
        (
            (task_id, {"label_ids": [sorted(ids), sorted(i for i in ids if i != gone)]})
            for task_id, ids in sorted(before.items())
        ),
    )
    activity.record(
        project_id, actor, ActivityVerb.LABEL_DELETED, ActivityTargetType.LABEL, label_id
    )
