"""Project membership. Every change holds the project row FOR UPDATE, so two owners demoting
or removing each other can never leave a project without one, and a member being removed is
never assigned by a concurrent task write (contract/DECISIONS.md, "Locks")."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from rest_framework.exceptions import NotFound

from impl_drf import selectors
from impl_drf.errors import Conflict
from impl_drf.models import ProjectMember, Task, User
from impl_drf.services import activity, locks
from shared.problems import LAST_OWNER, NO_SUCH_MEMBER, NO_SUCH_USER
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


def _lock(project_id: uuid.UUID) -> None:
    if locks.lock_project(project_id, "update") is None:  # deleted meanwhile
        raise NotFound()


def _is_last_owner(member: ProjectMember) -> bool:
    return member.role == Role.OWNER and selectors.owner_count(member.project_id) == 1


@transaction.atomic
def put_member(
    project_id: uuid.UUID, user_id: uuid.UUID, role: str, actor: User
) -> tuple[ProjectMember, bool]:
    """Add the user with `role` or set their role; True when the user was added."""
    _lock(project_id)
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound(NO_SUCH_USER)
    member = selectors.member(project_id, user_id)
    if member is None:
        ProjectMember.objects.create(project_id=project_id, user_id=user_id, role=role)
        activity.record(
            project_id, actor, ActivityVerb.MEMBER_ADDED, ActivityTargetType.MEMBER, user_id
        )
        added = selectors.member(project_id, user_id)
        assert added is not None
        return added, True
    if member.role != role:
        if _is_last_owner(member):
            raise Conflict(LAST_OWNER)
        changes = {"role": [member.role, role]}
        ProjectMember.objects.filter(pk=member.pk).update(role=role)
        member.role = role
        activity.record(
            project_id,
            actor,
            ActivityVerb.MEMBER_UPDATED,
            ActivityTargetType.MEMBER,
            user_id,
            changes,
        )
    return member, False


@transaction.atomic
def remove_member(project_id: uuid.UUID, user_id: uuid.UUID, actor: User) -> None:
    _lock(project_id)
    member = selectors.member(project_id, user_id)
    if member is None:
        raise NotFound(NO_SUCH_MEMBER)
    if _is_last_owner(member):
        raise Conflict(LAST_OWNER)
    # Their assignments in the project end with the membership; those tasks changed, and each
    # change has its `task.updated` (task id order), before `member.removed`.
    assigned = Task.objects.filter(project_id=project_id, assignee_id=user_id)
    task_ids = list(assigned.order_by("id").values_list("id", flat=True))
    assigned.update(assignee=None, version=F("version") + 1, updated_at=Now())
    activity.record_task_updates(
        project_id,
        actor,
        ((task_id, {"assignee_id": [str(user_id), None]}) for task_id in task_ids),
    )
    ProjectMember.objects.filter(pk=member.pk).delete()
    activity.record(
        project_id, actor, ActivityVerb.MEMBER_REMOVED, ActivityTargetType.MEMBER, user_id
    )
