"""The password grant (createToken)."""

from __future__ import annotations

from typing import Any

from impl_drf.errors import IncorrectCredentials
from impl_drf.models import User
from shared.passwords import verify_password
from shared.settings import get_settings
from shared.tokens import issue_token


def issue_access_token(email: str, password: str) -> dict[str, Any]:
    user = User.objects.filter(email=email.lower()).first()
    # An unknown email is verified against a dummy hash: both failures cost the same time and
    # read the same.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise IncorrectCredentials()
    settings = get_settings()
    return {
        "access_token": issue_token(user.id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }
