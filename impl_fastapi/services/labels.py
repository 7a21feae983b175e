"""Per-project labels."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi import models
from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.schemas import ActivityTargetType, ActivityVerb, LabelCreate, Role
from impl_fastapi.security import require_role
from impl_fastapi.services import activity


async def list_labels(session: AsyncSession, user: models.User,
                      project_id: UUID) -> list[models.Label]:
    await require_role(session, project_id, user, Role.viewer)
    result = await session.scalars(
        select(models.Label).where(models.Label.project_id == project_id)
        .order_by(models.Label.name, models.Label.id))
    return list(result)


async def create_label(session: AsyncSession, user: models.User, project_id: UUID,
                       body: LabelCreate) -> models.Label:
    await require_role(session, project_id, user, Role.editor)
    # Names are unique per project case-insensitively (a unique index on lower(name)); ON
    # CONFLICT turns a duplicate into "no row", also when two requests race.
    label = await session.scalar(
        insert(models.Label)
        .values(project_id=project_id, name=body.name, color=body.color)
        .on_conflict_do_nothing()
        .returning(models.Label))
    if label is None:
        raise Conflict("A label with this name already exists in the project.")
    activity.record(session, project_id=project_id, actor=user, verb=ActivityVerb.label_created,
                    target_type=ActivityTargetType.label, target_id=label.id)
    return label


async def delete_label(session: AsyncSession, user: models.User, project_id: UUID,
                       label_id: UUID) -> None:
    # The project lock orders this after in-flight task writes of the project (they hold it in
    # share mode), so relabelling a task and deleting its label cannot deadlock.
    await require_role(session, project_id, user, Role.editor, lock="update")
    label = await session.scalar(
        select(models.Label.id)
        .where(models.Label.id == label_id, models.Label.project_id == project_id))
    if label is None:
        raise NotFound()
    # The tasks that carried the label change representation: bump them in one statement.
    labelled = select(models.task_labels.c.task_id).where(models.task_labels.c.label_id == label_id)
    await session.execute(
        update(models.Task).where(models.Task.id.in_(labelled))
        .values(version=models.Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False))
    await session.execute(delete(models.Label).where(models.Label.id == label_id))
    activity.record(session, project_id=project_id, actor=user, verb=ActivityVerb.label_deleted,
                    target_type=ActivityTargetType.label, target_id=label_id)
