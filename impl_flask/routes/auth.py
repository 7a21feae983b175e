"""POST /api/v1/auth/token — the OAuth2 password grant (createToken)."""

from __future__ import annotations

from typing import Any

from impl_flask.db import TransactionalView
from impl_flask.openapi import PUBLIC, Blueprint
from impl_flask.schemas import TokenRequestSchema, TokenSchema
from impl_flask.security import client_address, public
from impl_flask.services import auth
from impl_flask.settings import API_PREFIX
from shared.openapi_tags import TAG_DESCRIPTIONS

blp = Blueprint("auth", __name__, url_prefix=API_PREFIX, description=TAG_DESCRIPTIONS["auth"])


@blp.route("/auth/token")
@public
class AccessTokens(TransactionalView):
    @blp.doc(operationId="createToken", **PUBLIC)
    @blp.arguments(TokenRequestSchema, location="form")
    @blp.response(200, TokenSchema)
    @blp.problems(401, 415, 422, 429, 500)
    def post(self, form: dict[str, Any]) -> dict[str, Any]:
        """Get an access token

        `username` is the email. An unknown email and a wrong password give the same 401.
        """
        return auth.create_token(form["username"], form["password"], client_address())
