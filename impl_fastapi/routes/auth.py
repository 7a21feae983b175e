"""The token endpoint (OAuth2 password grant)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form

from impl_fastapi.db import OwnTransactionsSession
from impl_fastapi.openapi import problem_responses
from impl_fastapi.schemas import Token, TokenRequest
from impl_fastapi.security import ClientAddress
from impl_fastapi.services import auth
from impl_fastapi.settings import SettingsDep
from impl_fastapi.validation import ContractRoute

router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=ContractRoute)


@router.post(
    "/auth/token",
    operation_id="createToken",
    summary="Get an access token",
    responses=problem_responses(401, 415, 422, 429),
)
async def create_token(
    form: Annotated[TokenRequest, Form()],
    address: ClientAddress,
    session: OwnTransactionsSession,
    settings: SettingsDep,
) -> Token:
    return await auth.issue_access_token(session, settings, form.username, form.password, address)
