"""Per-project labels.

createLabel holds the project row FOR SHARE, so a label is never created in a project being
deleted; deleteLabel holds it FOR UPDATE, which waits for the task writes in flight (they hold it
FOR SHARE) and holds off new ones, so no task write attaches the label while it goes
(contract/DECISIONS.md, "Locks")."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import Conflict, NotFound
from impl_fastapi.permissions import require_project_role
from impl_fastapi.schemas import LabelCreate
from impl_fastapi.services import activity
from impl_fastapi.services.locks import lock_project
from shared import orm, selects
from shared.integrity import conflict_detail
from shared.vocabulary import ActivityTargetType, ActivityVerb, Role


async def list_labels(session: AsyncSession, user: orm.User, project_id: UUID) -> list[orm.Label]:
    await require_project_role(session, project_id, user, Role.VIEWER)
    return list(await session.scalars(selects.labels_of(project_id)))


async def create_label(
    session: AsyncSession, user: orm.User, project_id: UUID, body: LabelCreate
) -> orm.Label:
    await require_project_role(session, project_id, user, Role.EDITOR)
    await lock_project(session, project_id, "share")
    label = orm.Label(project_id=project_id, name=body.name, color=body.color)
    try:
        # A savepoint: a duplicate name (unique per project, case-insensitively, also under a
        # race) fails this INSERT only, and the constraint's name says which 409 it is.
        async with session.begin_nested():
            session.add(label)
            await session.flush()
    except IntegrityError as error:
        if (detail := conflict_detail(error)) is None:
            raise
        raise Conflict(detail) from None
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
    await require_project_role(session, project_id, user, Role.EDITOR)
    await lock_project(session, project_id, "update")
    if await session.scalar(selects.labels_among(project_id, [label_id])) is None:
        raise NotFound()
    # The tasks that carried the label change representation: bump them in one statement, and
    # give each its `task.updated` with the label ids before and after, before `label.deleted`.
    links = orm.task_labels.c
    labelled = select(links.task_id).where(links.label_id == label_id)
    label_sets = await session.execute(
        select(links.task_id, func.array_agg(links.label_id))
        .where(links.task_id.in_(labelled))
        .group_by(links.task_id)
    )
    changes_by_task = []
    for task_id, label_ids in label_sets:
        before = sorted(str(each) for each in label_ids)
        after = [each for each in before if each != str(label_id)]
        changes_by_task.append((task_id, {"label_ids": [before, after]}))
    await session.execute(
        update(orm.Task)
        .where(orm.Task.id.in_(labelled))
        .values(version=orm.Task.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(orm.Label).where(orm.Label.id == label_id))
    await activity.record_task_updates(
        session, project_id=project_id, actor=user, changes_by_task=changes_by_task
    )
    activity.record(
        session,
        project_id=project_id,
        actor=user,
        verb=ActivityVerb.LABEL_DELETED,
        target_type=ActivityTargetType.LABEL,
        target_id=label_id,
    )
