"""POST /api/v1/auth/token — the OAuth2 password grant."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.openapi import ContractOperation, problem_responses
from impl_litestar.schemas import Token, TokenRequest
from impl_litestar.security import provide_client_address
from impl_litestar.services import auth
from impl_litestar.settings import AppSettings


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/token",
        operation_id="createToken",
        status_code=200,
        summary="Get an access token",
        opt={"exclude_from_auth": True},
        operation_class=ContractOperation,
        dependencies={"client_address": Provide(provide_client_address, sync_to_thread=False)},
        responses=problem_responses(401, 415, 422, 429),
    )
    async def create_token(
        self,
        data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
        db_session: AsyncSession,
        settings: AppSettings,
        client_address: str,
    ) -> Token:
        """OAuth2 password grant; `username` is the email. Unknown email and wrong password
        give the same 401 and take the same time; too many failures → 429."""
        return await auth.issue_access_token(
            db_session, settings, data.username, data.password, client_address
        )
