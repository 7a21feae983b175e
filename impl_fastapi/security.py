"""Authentication (a bearer JWT naming an existing user) and the project roles.

Authentication is a dependency: it runs before validation, so an anonymous request with a bad
body gets 401. Project visibility and roles are checked by the services after validation
(contract order: 422 before 404/403) through `require_role`."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.db import Session
from impl_fastapi.errors import Forbidden, NotFound, Unauthorized
from impl_fastapi.settings import SettingsDep
from shared import orm
from shared.tokens import InvalidToken, bearer_token, read_token
from shared.vocabulary import Role

TOKEN_URL = "/api/v1/auth/token"


class BearerToken(OAuth2PasswordBearer):
    """OAuth2PasswordBearer for the OpenAPI security scheme, with the one token-extraction rule
    every implementation shares (case-insensitive scheme, surrounding spaces ignored)."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return bearer_token(request.headers.get("Authorization"))


bearer = BearerToken(tokenUrl=TOKEN_URL, scheme_name="OAuth2PasswordBearer", auto_error=False)


async def authenticate(
    token: Annotated[str | None, Depends(bearer)], session: Session, settings: SettingsDep
) -> orm.User:
    if token is None:
        raise Unauthorized("Not authenticated")
    try:
        user_id = read_token(token, settings)
    except InvalidToken:
        raise Unauthorized() from None
    user = await session.get(orm.User, user_id)
    if user is None:  # deleted since the token was issued
        raise Unauthorized()
    return user


CurrentUser = Annotated[orm.User, Depends(authenticate)]


ProjectLock = Literal["update", "share"]


async def require_role(
    session: AsyncSession,
    project_id: UUID,
    user: orm.User,
    minimum: Role = Role.VIEWER,
    *,
    lock: ProjectLock | None = None,
) -> Role:
    """The caller's role in the project: 404 when not a member (no existence leak), 403 when
    below `minimum`.

    `lock` first locks the project row until the transaction ends: "update" for changes to the
    project or its membership (the last-owner rule, If-Match on the project), "share" for
    writes that rely on the membership staying as read (a task's assignee must be a member)."""
    if lock is not None:
        locked = await session.scalar(
            select(orm.Project.id)
            .where(orm.Project.id == project_id)
            .with_for_update(read=lock == "share")
        )
        if locked is None:
            raise NotFound()
    role = await session.scalar(
        select(orm.ProjectMember.role).where(
            orm.ProjectMember.project_id == project_id, orm.ProjectMember.user_id == user.id
        )
    )
    if role is None:
        raise NotFound()
    if Role(role).rank < minimum.rank:
        raise Forbidden()
    return Role(role)


# Router-level: every route of a protected router authenticates first (before the body checks
# of validation.ContractRoute and before validation); handlers that need the user declare
# CurrentUser, which FastAPI answers from the same request's dependency cache.
AUTHENTICATED = [Depends(authenticate)]
