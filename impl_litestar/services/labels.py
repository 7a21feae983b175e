"""Per-project labels: names unique per project, case-insensitively (409)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.db import add_unique
from impl_litestar.schemas import LabelCreate
from impl_litestar.services import activity
from impl_litestar.services.locks import lock_project
from shared import selects
from shared.changes import request_form
from shared.orm import Label, Task, User, task_labels
from shared.vocabulary import ActivityTargetType, ActivityVerb


def request_form_ids(label_ids: Iterable[uuid.UUID]) -> list[str]:
    return request_form({"label_ids": label_ids})["label_ids"]


async def list_labels(session: AsyncSession, project_id: uuid.UUID) -> list[Label]:
    """By name, then id."""
    return list(await session.scalars(selects.labels_of(project_id)))


async def create_label(
    session: AsyncSession, actor: User, project_id: uuid.UUID, body: LabelCreate
) -> Label:
    await lock_project(session, project_id, "share")
    label = Label(project_id=project_id, name=body.name, color=body.color)
    await add_unique(session, label)
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.LABEL_CREATED,
        target_type=ActivityTargetType.LABEL,
        target_id=label.id,
    )
    await session.flush()
    return label


async def delete_label(
    session: AsyncSession, actor: User, project_id: uuid.UUID, label_id: uuid.UUID
) -> None:
    """Takes the label off its tasks, which change representation: new version and updated_at.
    Under the project's update lock, so no concurrent task write attaches it meanwhile."""
    await lock_project(session, project_id, "update")
    label = await session.get(Label, label_id)
    if label is None or label.project_id != project_id:
        raise NotFoundException()
    labelled = select(task_labels.c.task_id).where(task_labels.c.label_id == label_id)
    before = await session.execute(
        select(task_labels.c.task_id, func.array_agg(task_labels.c.label_id))
        .where(task_labels.c.task_id.in_(labelled))
        .group_by(task_labels.c.task_id)
    )
    changes_by_task = {
        task_id: {"label_ids": [request_form_ids(old), request_form_ids(set(old) - {label_id})]}
        for task_id, old in before
    }
    await session.execute(
        update(Task)
        .where(Task.id.in_(labelled))
        .values(version=Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await activity.record_task_updates(
        session, project_id=project_id, actor=actor, changes_by_task=changes_by_task
    )
    await session.delete(label)
    activity.record(
        session,
        project_id=project_id,
        actor=actor,
        verb=ActivityVerb.LABEL_DELETED,
        target_type=ActivityTargetType.LABEL,
        target_id=label_id,
    )
    await session.flush()
