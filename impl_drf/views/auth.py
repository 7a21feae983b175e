"""POST /api/v1/auth/token — OAuth2 password grant (SPEC §2)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import IncorrectCredentials
from impl_drf.models import User
from impl_drf.openapi import problems
from impl_drf.serializers import TokenRequestSerializer, TokenSerializer
from impl_drf.views.base import ContractViewSet
from shared.passwords import verify_password
from shared.settings import get_settings
from shared.tokens import issue_token


class TokenViewSet(ContractViewSet):
    # The one form endpoint: urlencoded only (multipart is not accepted, DECISIONS.md).
    parser_classes = [FormParser]
    authentication_classes: list = []
    permission_classes = [AllowAny]
    body_serializer_classes = {"create": TokenRequestSerializer}
    schema_tags = ["auth"]

    @extend_schema(
        operation_id="createToken",
        summary="Get an access token",
        request={"application/x-www-form-urlencoded": TokenRequestSerializer},
        responses={200: TokenSerializer, **problems(401, 413, 415, 422)},
        auth=[],
    )
    def create(self, request: Request) -> Response:
        credentials = self.validated_body
        user = User.objects.filter(email=credentials["username"].lower()).first()
        # verify_password does the same work for an unknown email: no timing oracle.
        if not verify_password(user.password_hash if user else None, credentials["password"]):
            raise IncorrectCredentials()
        settings = get_settings()
        return Response(
            {
                "access_token": issue_token(user.id, settings),
                "token_type": "bearer",
                "expires_in": settings.access_token_ttl_seconds,
            }
        )
