"""The row locks of every write, in the one order contract/DECISIONS.md ("Locks") fixes: the
project row (FOR SHARE for writes inside the project, FOR UPDATE for the project itself, its
membership and label deletion), then the task row, then the comment row. Services take them
after the permission check and before checking references, If-Match and conflicts, so what they
check still holds at commit. A row gone by the time its lock is granted is a 404."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import NotFound
from shared import selects
from shared.selects import ProjectLock


async def lock_project(session: AsyncSession, project_id: UUID, mode: ProjectLock) -> None:
    if await session.scalar(selects.lock_project(project_id, mode)) is None:
        raise NotFound()


async def lock_task(session: AsyncSession, task_id: UUID, *, share: bool = False) -> None:
    if await session.scalar(selects.lock_task(task_id, share=share)) is None:
        raise NotFound()


async def lock_comment(session: AsyncSession, comment_id: UUID) -> None:
    if await session.scalar(selects.lock_comment(comment_id)) is None:
        raise NotFound()
