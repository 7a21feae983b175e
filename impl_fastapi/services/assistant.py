"""The project assistant (SPEC section 8): who may ask, and the prompt. The upstream call, its
deadlines and its frames are shared.assistant's."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.permissions import require_project_role
from shared import orm
from shared.assistant import OPEN_TASKS, AsyncAssistant, messages


async def prompt(
    session: AsyncSession,
    assistant: AsyncAssistant,
    user: orm.User,
    project_id: UUID,
    question: str,
) -> list[dict[str, Any]]:
    """The messages for the upstream, after 404 (not a member) and 503 (no LLM_BASE_URL). Closes
    the session: the upstream call that follows lasts up to LLM_TIMEOUT_SECONDS, and must not
    hold a pool connection meanwhile."""
    await require_project_role(session, project_id, user)
    assistant.ensure_configured()
    rows = (await session.execute(OPEN_TASKS, {"project_id": project_id})).all()
    await session.close()
    return messages(rows, question)
