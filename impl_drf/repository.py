"""Writes: each public function is one transaction that changes rows and appends the activity
entry describing the change (SPEC §6), so the two commit or roll back together.

Callers pass validated input (impl_drf.serializers) and objects the caller may see and change
(the views check visibility and roles first). What remains to check here needs the database
inside the transaction: body references (422 invalid_reference), `If-Match` (412), conflicts
(409) — in that order (DECISIONS.md).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError

from impl_drf.conditional import check_if_match
from impl_drf.errors import Conflict
from impl_drf.models import (
    Activity,
    Comment,
    Label,
    Membership,
    Project,
    Role,
    TargetType,
    Task,
    User,
    Verb,
)
from shared.changes import diff, request_form, task_request_form
from shared.passwords import hash_password

# --------------------------------------------------------------------------- users


def create_user(email: str, display_name: str, password: str, is_admin: bool) -> User:
    password_hash = hash_password(password)  # CPU-bound: before the transaction, not in it
    try:
        with transaction.atomic():
            return User.objects.create(
                email=email.lower(),
                display_name=display_name,
                password_hash=password_hash,
                is_admin=is_admin,
            )
    except IntegrityError:
        raise Conflict("A user with this email already exists.") from None


# --------------------------------------------------------------------------- projects


@transaction.atomic
def create_project(actor: User, name: str, description: str) -> Project:
    project = Project.objects.create(name=name, description=description, created_by=actor)
    Membership.objects.create(project=project, user=actor, role=Role.OWNER)
    Activity.record(project.id, actor, Verb.PROJECT_CREATED, TargetType.PROJECT, project.id)
    return project


@transaction.atomic
def update_project(
    project_id: uuid.UUID, actor: User, changes_requested: dict[str, Any], if_match: str | None
) -> None:
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:  # deleted since the view looked it up
        raise NotFound()
    check_if_match(if_match, project.version)
    old = {"name": project.name, "description": project.description}
    changes = diff(old, changes_requested)
    if not changes:
        return
    Project.objects.filter(pk=project_id).update(
        **{field: new for field, (_, new) in changes.items()},
        version=F("version") + 1,
        updated_at=Now(),
    )
    Activity.record(
        project_id, actor, Verb.PROJECT_UPDATED, TargetType.PROJECT, project_id, changes
    )


def delete_project(project: Project) -> None:
    """Members, labels, tasks, comments and activity go with it (ON DELETE CASCADE)."""
    Project.objects.filter(pk=project.pk).delete()


# --------------------------------------------------------------------------- members


def _lock_owners(project: Project) -> list[uuid.UUID]:
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Role.OWNER)
        .values_list("user_id", flat=True)
    )


@transaction.atomic
def put_member(
    project: Project, user_id: uuid.UUID, role: str, actor: User
) -> tuple[Membership, bool]:
    """Add the user with `role` or set their role; True when added."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    owners = _lock_owners(project)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(project=project, user=user)
        .first()
    )
    if membership is None:
        membership = Membership.objects.create(project=project, user=user, role=role)
        Activity.record(project.id, actor, Verb.MEMBER_ADDED, TargetType.MEMBER, user.id)
        return Membership.objects.select_related("user").get(pk=membership.pk), True
    if membership.role != role:
        if membership.role == Role.OWNER and owners == [user.id]:
            raise Conflict("A project needs at least one owner.")
        old_role = membership.role
        Membership.objects.filter(pk=membership.pk).update(role=role)
        membership.role = role
        Activity.record(
            project.id,
            actor,
            Verb.MEMBER_UPDATED,
            TargetType.MEMBER,
            user.id,
            {"role": [old_role, role]},
        )
    return membership, False


@transaction.atomic
def remove_member(project: Project, user_id: uuid.UUID, actor: User) -> None:
    owners = _lock_owners(project)
    membership = (
        Membership.objects.select_for_update().filter(project=project, user_id=user_id).first()
    )
    if membership is None:
        raise NotFound()
    if membership.role == Role.OWNER and owners == [user_id]:
        raise Conflict("A project needs at least one owner.")
    # Their assignments in the project end with the membership; those tasks changed.
    Task.objects.filter(project=project, assignee_id=user_id).update(
        assignee=None, version=F("version") + 1, updated_at=Now()
    )
    Membership.objects.filter(pk=membership.pk).delete()
    Activity.record(project.id, actor, Verb.MEMBER_REMOVED, TargetType.MEMBER, user_id)


# --------------------------------------------------------------------------- labels


def create_label(project: Project, actor: User, name: str, color: str) -> Label:
    try:
        with transaction.atomic():
            label = Label.objects.create(project=project, name=name, color=color)
            Activity.record(project.id, actor, Verb.LABEL_CREATED, TargetType.LABEL, label.id)
            return label
    except IntegrityError:
        raise Conflict("A label with this name already exists in the project.") from None


@transaction.atomic
def delete_label(project: Project, label_id: uuid.UUID, actor: User) -> None:
    label = Label.objects.select_for_update().filter(project=project, pk=label_id).first()
    if label is None:
        raise NotFound()
    # Tasks that lose the label changed representation: new version and updated_at.
    Task.objects.filter(labels=label).update(version=F("version") + 1, updated_at=Now())
    label.delete()
    Activity.record(project.id, actor, Verb.LABEL_DELETED, TargetType.LABEL, label_id)


# --------------------------------------------------------------------------- tasks


def _check_references(project_id: uuid.UUID, data: dict[str, Any]) -> None:
    """`assignee_id` must be a member, `label_ids` labels of this project (422 otherwise)."""
    errors: dict[str, Any] = {}
    assignee_id = data.get("assignee_id")
    if (
        assignee_id is not None
        and not Membership.objects.filter(project_id=project_id, user_id=assignee_id).exists()
    ):
        errors["assignee_id"] = [
            ErrorDetail("The assignee is not a member of the project.", code="invalid_reference")
        ]
    label_ids = data.get("label_ids") or []
    if label_ids:
        known = set(
            Label.objects.filter(project_id=project_id, pk__in=label_ids).values_list(
                "id", flat=True
            )
        )
        unknown = {
            index: [ErrorDetail("No such label in this project.", code="invalid_reference")]
            for index, label_id in enumerate(label_ids)
            if label_id not in known
        }
        if unknown:
            errors["label_ids"] = unknown
    if errors:
        raise ValidationError(errors)


def _lock_task(task_id: uuid.UUID) -> Task:
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:  # deleted since the view looked it up
        raise NotFound()
    return task


@transaction.atomic
def create_task(project: Project, actor: User, data: dict[str, Any]) -> Task:
    _check_references(project.id, data)
    label_ids = data.pop("label_ids")
    task = Task.objects.create(project=project, created_by=actor, **data)
    task.labels.set(label_ids)
    Activity.record(project.id, actor, Verb.TASK_CREATED, TargetType.TASK, task.id)
    return task


@transaction.atomic
def update_task(
    task_id: uuid.UUID, actor: User, data: dict[str, Any], if_match: str | None
) -> None:
    task = _lock_task(task_id)
    _check_references(task.project_id, data)
    check_if_match(if_match, task.version)
    current_labels = list(task.labels.values_list("id", flat=True))
    changes = diff(task_request_form(task, current_labels), request_form(data))
    if not changes:
        return
    fields = {field: data[field] for field in changes if field != "label_ids"}
    Task.objects.filter(pk=task_id).update(**fields, version=F("version") + 1, updated_at=Now())
    if "label_ids" in changes:
        task.labels.set(data["label_ids"])
    Activity.record(task.project_id, actor, Verb.TASK_UPDATED, TargetType.TASK, task_id, changes)


@transaction.atomic
def delete_task(task_id: uuid.UUID, actor: User, if_match: str | None) -> None:
    task = _lock_task(task_id)
    check_if_match(if_match, task.version)
    task.delete()
    Activity.record(task.project_id, actor, Verb.TASK_DELETED, TargetType.TASK, task_id)


# --------------------------------------------------------------------------- comments


@transaction.atomic
def create_comment(task: Task, actor: User, body: str) -> Comment:
    comment = Comment.objects.create(task=task, author=actor, body=body)
    Activity.record(task.project_id, actor, Verb.COMMENT_CREATED, TargetType.COMMENT, comment.id)
    return comment


@transaction.atomic
def update_comment(comment: Comment, actor: User, body: str) -> None:
    locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
    if locked is None:
        raise NotFound()
    changes = diff({"body": locked.body}, {"body": body})
    if not changes:
        return
    Comment.objects.filter(pk=comment.pk).update(body=body, updated_at=Now())
    Activity.record(
        comment.project_id, actor, Verb.COMMENT_UPDATED, TargetType.COMMENT, comment.pk, changes
    )


@transaction.atomic
def delete_comment(comment: Comment, actor: User) -> None:
    Comment.objects.filter(pk=comment.pk).delete()
    Activity.record(comment.project_id, actor, Verb.COMMENT_DELETED, TargetType.COMMENT, comment.pk)
