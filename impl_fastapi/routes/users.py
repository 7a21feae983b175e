"""User accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from impl_fastapi.db import Session
from impl_fastapi.idempotency import idempotent
from impl_fastapi.openapi import problem_responses
from impl_fastapi.pagination import Page, PageQuery
from impl_fastapi.schemas import ResourceId, SearchText, User, UserCreate, UserPage
from impl_fastapi.security import AUTHENTICATED, CurrentUser
from impl_fastapi.services import users
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute
from shared import orm

router = APIRouter(
    prefix="/api/v1", tags=["users"], route_class=ContractRoute, dependencies=AUTHENTICATED
)


@router.get(
    "/me",
    operation_id="getMe",
    summary="The caller",
    response_model=User,
    responses=problem_responses(401),
)
async def get_me(user: CurrentUser) -> orm.User:
    return user


@router.post(
    "/users",
    operation_id="createUser",
    summary="Create a user (admins only)",
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    responses=problem_responses(400, 401, 403, 409, 415, 422),
)
@idempotent
async def create_user(
    body: UserCreate, user: CurrentUser, session: Session, response: Response
) -> orm.User:
    created = await users.create_user(session, user, body)
    response.headers["Location"] = f"/api/v1/users/{created.id}"
    return created


@router.get(
    "/users",
    operation_id="listUsers",
    summary="List users",
    response_model=UserPage,
    responses=problem_responses(401, 422),
)
async def list_users(
    session: Session,
    settings: SettingsDep,
    page: PageQuery,
    q: Annotated[
        SearchText | None, Query(description="Prefix of the email or the display name.")
    ] = None,
) -> Page[orm.User]:
    return await users.list_users(session, settings, q, page)


@router.get(
    "/users/{user_id}",
    operation_id="getUser",
    summary="Get a user",
    response_model=User,
    responses=problem_responses(401, 404, 422),
)
async def get_user(user_id: ResourceId, session: Session) -> orm.User:
    return await users.get_user(session, user_id)
