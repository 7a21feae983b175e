"""Tasks: create, update with If-Match, delete (the list and lookups are impl_drf.selectors).

Each holds its project row FOR SHARE, so a member removed or a label deleted meanwhile (both
FOR UPDATE) is never assigned or attached here (contract/DECISIONS.md, "Locks")."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError

from impl_drf import selectors
from impl_drf.conditional import IfMatch
from impl_drf.models import Task, TaskLabel, User
from impl_drf.selectors import TaskRow
from impl_drf.services import activity, locks
from impl_drf.services.notifications import notify_assignee
from shared.changes import diff, request_form, task_request_form
from shared.problems import ASSIGNEE_NOT_MEMBER, LABEL_NOT_IN_PROJECT
from shared.vocabulary import ActivityTargetType, ActivityVerb


def _lock_project(project_id: uuid.UUID) -> None:
    if locks.lock_project(project_id, "share") is None:  # deleted meanwhile
        raise NotFound()


def _lock_task(task_id: uuid.UUID) -> Task:
    task = locks.lock_task(task_id)
    if task is None:  # deleted since the view looked it up
        raise NotFound()
    return task


def _as_seen_by(actor: User, task_id: uuid.UUID) -> TaskRow:
    """The task for the answer, read before the commit: after it, a concurrent deletion of the
    task or its project could make the re-read find nothing."""
    return selectors.task_for(actor, task_id)


def _check_references(project_id: uuid.UUID, data: dict[str, Any]) -> None:
    """`assignee_id` must be a member, `label_ids` labels of this project (422 otherwise)."""
    errors: dict[str, Any] = {}
    assignee_id = data.get("assignee_id")
    if assignee_id is not None and not selectors.is_member(project_id, assignee_id):
        errors["assignee_id"] = [ErrorDetail(ASSIGNEE_NOT_MEMBER, code="invalid_reference")]
    label_ids = data.get("label_ids") or []
    if label_ids:
        known = selectors.label_ids_among(project_id, label_ids)
        unknown = {
            index: [ErrorDetail(LABEL_NOT_IN_PROJECT, code="invalid_reference")]
            for index, label_id in enumerate(label_ids)
            if label_id not in known
        }
        if unknown:
            errors["label_ids"] = unknown
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_task(project_id: uuid.UUID, actor: User, data: dict[str, Any]) -> TaskRow:
    _lock_project(project_id)
    _check_references(project_id, data)
    fields = {field: value for field, value in data.items() if field != "label_ids"}
    task = Task.objects.create(project_id=project_id, created_by=actor, **fields)
    # A new task has no labels yet: one INSERT (labels.set() would first read what is there).
    TaskLabel.objects.bulk_create(
        TaskLabel(task=task, label_id=label_id) for label_id in data["label_ids"]
    )
    notify_assignee(task.id, project_id, data.get("assignee_id"), actor)
    activity.record(project_id, actor, ActivityVerb.TASK_CREATED, ActivityTargetType.TASK, task.id)
    return _as_seen_by(actor, task.pk)


@transaction.atomic
def update_task(task: Task, actor: User, data: dict[str, Any], if_match: IfMatch) -> TaskRow:
    _lock_project(task.project_id)
    locked = _lock_task(task.id)
    _check_references(locked.project_id, data)
    if_match.check()
    current = task_request_form(locked, selectors.task_label_ids(locked))
    changes = diff(current, request_form(data))
    if not changes:
        return _as_seen_by(actor, locked.pk)
    fields = {field: data[field] for field in changes if field != "label_ids"}
    Task.objects.filter(pk=locked.pk).update(**fields, version=F("version") + 1, updated_at=Now())
    if "label_ids" in changes:
        locked.labels.set(data["label_ids"])
    if "assignee_id" in changes:
        notify_assignee(locked.pk, locked.project_id, data["assignee_id"], actor)
    activity.record(
        locked.project_id,
        actor,
        ActivityVerb.TASK_UPDATED,
        ActivityTargetType.TASK,
        locked.pk,
        changes,
    )
    return _as_seen_by(actor, locked.pk)


@transaction.atomic
def delete_task(task: Task, actor: User, if_match: IfMatch) -> None:
    _lock_project(task.project_id)
    _lock_task(task.pk)
    if_match.check()
    Task.objects.filter(pk=task.pk).delete()  # comments and label links cascade
    activity.record(
        task.project_id, actor, ActivityVerb.TASK_DELETED, ActivityTargetType.TASK, task.pk
    )
