"""The row locks of every write, in the contract's order — project row, then task row, then
comment row (contract/DECISIONS.md, "Locks") — each a 404 when its row went since the
visibility check."""

from __future__ import annotations

import uuid

from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from shared import selects
from shared.selects import ProjectLock


async def lock_project(session: AsyncSession, project_id: uuid.UUID, mode: ProjectLock) -> None:
    """ "share": a write inside the project (its membership and labels stay as they are until
    commit); "update": a change of the project itself, its membership or its labels."""
    if await session.scalar(selects.lock_project(project_id, mode)) is None:
        raise NotFoundException()


async def lock_task(session: AsyncSession, task_id: uuid.UUID, *, share: bool = False) -> int:
    """The task's version, the row locked (share: it must stay, e.g. under a new comment)."""
    version = await session.scalar(selects.lock_task(task_id, share=share))
    if version is None:
        raise NotFoundException()
    return version


async def lock_comment(session: AsyncSession, comment_id: uuid.UUID) -> None:
    if await session.scalar(selects.lock_comment(comment_id)) is None:
        raise NotFoundException()
