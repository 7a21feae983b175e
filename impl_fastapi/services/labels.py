"""Per-project labels."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.schemas import LabelCreate
from impl_fastapi.security import require_role
from impl_fastapi.services import activity
from shared import orm
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def list_labels(session: AsyncSession, user: orm.User, project_id: UUID) -> list[orm.Label]:
    await require_role(session, project_id, user, Role.VIEWER)
    result = await session.scalars(
        select(orm.Label)
        .where(orm.Label.project_id == project_id)
        .order_by(orm.Label.name, orm.Label.id)
    )
    return list(result)


async def create_label(
    session: AsyncSession, user: orm.User, project_id: UUID, body: LabelCreate
) -> orm.Label:
    await require_role(session, project_id, user, Role.EDITOR)
    # Names are unique per project case-insensitively (a unique index on lower(name)); ON
    # CONFLICT turns a duplicate into "no row", also when two requests race.
    label = await session.scalar(
        insert(orm.Label)
        .values(project_id=project_id, name=body.name, color=body.color)
        .on_conflict_do_nothing()
        .returning(orm.Label)
    )
    if label is None:
        raise Conflict("A label with this name already exists in the project.")
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.LABEL_CREATED,
        target_type=ActivityTargetType.LABEL,
        target_id=label.id,
    )
    return label


async def delete_label(
    session: AsyncSession, user: orm.User, project_id: UUID, label_id: UUID
) -> None:
    # The project lock orders this after in-flight task writes of the project (they hold it in
    # share mode), so relabelling a task and deleting its label cannot deadlock.
    await require_role(session, project_id, user, Role.EDITOR, lock="update")
    label = await session.scalar(
        select(orm.Label.id).where(orm.Label.id == label_id, orm.Label.project_id == project_id)
    )
    if label is None:
        raise NotFound()
    # The tasks that carried the label change representation: bump them in one statement.
    labelled = select(orm.task_labels.c.task_id).where(orm.task_labels.c.label_id == label_id)
    await session.execute(
        update(orm.Task)
        .where(orm.Task.id.in_(labelled))
        .values(version=orm.Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(orm.Label).where(orm.Label.id == label_id))
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.LABEL_DELETED,
        target_type=ActivityTargetType.LABEL,
        target_id=label_id,
    )
