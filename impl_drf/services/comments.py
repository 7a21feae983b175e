"""Comments of a task: create, edit, delete (the list is impl_drf.selectors.comments_of)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.functions import Now
from rest_framework.exceptions import NotFound

from impl_drf import selectors
from impl_drf.models import Comment, Task, User
from impl_drf.services import activity, locks
from shared.changes import diff
from shared.vocabulary import ActivityTargetType, ActivityVerb


def _lock(comment: Comment) -> Comment:
    """The project FOR SHARE, then the comment FOR UPDATE; 404 when either went meanwhile."""
    if locks.lock_project(comment.project_id, "share") is None:
        raise NotFound()
    locked = locks.lock_comment(comment.pk)
    if locked is None:
        raise NotFound()
    return locked


@transaction.atomic
def create_comment(task: Task, actor: User, body: str) -> Comment:
    """The task FOR SHARE: it must not go while the comment is added."""
    if (
        locks.lock_project(task.project_id, "share") is None
        or locks.lock_task(task.pk, share=True) is None
    ):
        raise NotFound()
    comment = Comment.objects.create(task=task, author=actor, body=body)
    activity.record(
        task.project_id, actor, ActivityVerb.COMMENT_CREATED, ActivityTargetType.COMMENT, comment.id
    )
    return comment


@transaction.atomic
def update_comment(comment: Comment, actor: User, body: str) -> Comment:
    """A body that does not change is no change: `updated_at` stays, no activity. The comment
    for the answer is read before the commit (after it, a concurrent deletion could win)."""
    locked = _lock(comment)
    changes = diff({"body": locked.body}, {"body": body})
    if not changes:
        return selectors.comment(locked.pk)
    Comment.objects.filter(pk=locked.pk).update(body=body, updated_at=Now())
    activity.record(
        comment.project_id,
        actor,
        ActivityVerb.COMMENT_UPDATED,
        ActivityTargetType.COMMENT,
        locked.pk,
        changes,
    )
    return selectors.comment(locked.pk)


@transaction.atomic
def delete_comment(comment: Comment, actor: User) -> None:
    _lock(comment)
    Comment.objects.filter(pk=comment.pk).delete()
    activity.record(
        comment.project_id,
        actor,
        ActivityVerb.COMMENT_DELETED,
        ActivityTargetType.COMMENT,
        comment.pk,
    )
