"""POST /api/v1/auth/token (createToken) — the OAuth2 password grant."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.negotiation import ContractFormParser
from impl_drf.openapi import problems
from impl_drf.serializers import TokenRequestSerializer, TokenSerializer
from impl_drf.services import auth
from impl_drf.throttling import SignInThrottle, sign_in_address
from impl_drf.views.base import ContractViewSet


class TokenViewSet(ContractViewSet):
    # The one form endpoint: urlencoded only (multipart is not accepted, DECISIONS.md).
    parser_classes = [ContractFormParser]
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SignInThrottle]
    body_serializer_classes = {"create": TokenRequestSerializer}
    schema_tags = ["auth"]

    @extend_schema(
        operation_id="createToken",
        summary="Get an access token",
        request={"application/x-www-form-urlencoded": TokenRequestSerializer},
        responses={200: TokenSerializer, **problems(401, 413, 415, 422, 429)},
        auth=[],
    )
    def create(self, request: Request) -> Response:
        credentials = self.validated_body
        token = auth.issue_access_token(
            credentials["username"], credentials["password"], sign_in_address(request)
        )
        return Response(TokenSerializer(token).data)
