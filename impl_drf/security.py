"""Bearer-token authentication over the shared JWTs (shared.tokens): a token minted by any
Quartet implementation authenticates here, and the other way round."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from impl_drf.models import User
from shared.problems import INVALID_TOKEN
from shared.settings import get_settings
from shared.tokens import AccessToken, InvalidToken, bearer_token, read_token

ACCESS_TOKEN_PARAMETER = "access_token"


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <JWT>` (scheme case-insensitive).

    No header (or another scheme) leaves the request anonymous, and IsAuthenticated answers
    401 "Not authenticated"; a bad, expired or foreign token, or one for a user who no longer
    exists, is a 401 at once. `authenticate_header` makes DRF answer 401 with
    `WWW-Authenticate: Bearer` instead of 403 (it asks the first authentication class).
    `request.auth` is the token's claims (an event stream ends at its expiry)."""

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token is None:
            return None
        return self.authenticate_token(token)

    def authenticate_token(self, token: str) -> tuple[User, AccessToken]:
        try:
            claims = read_token(token, get_settings())
        except InvalidToken:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        try:  # get(), not filter().first(): no ORDER BY to build for a primary key
            user = User.objects.get(pk=claims.user_id)
        except User.DoesNotExist:
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from None
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class StreamTokenAuthentication(BearerTokenAuthentication):
    """streamProjectEvents only: the bearer header, or the same token as `?access_token=` (a
    browser's EventSource cannot send headers). With an `Authorization` header, whatever it
    holds, the query token is ignored: the header wins, and a bad one is a 401 even next to a
    good query token."""

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        if "HTTP_AUTHORIZATION" in request.META:
            return super().authenticate(request)
        token = request.query_params.get(ACCESS_TOKEN_PARAMETER)
        if token is None:
            return None
        return self.authenticate_token(token)
