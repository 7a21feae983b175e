"""The password grant (createToken): after the throttle (impl_drf.throttling), the credentials;
a failure is counted, a success clears the (email, address) pair's failures and upgrades a
password hash made with outdated parameters (contract/DECISIONS.md, "Throttled sign-in",
"Secrets and passwords")."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from impl_drf.errors import IncorrectCredentials
from impl_drf.models import User
from impl_drf.throttling import sign_in_key
from shared.inputs import NUL
from shared.passwords import hash_password, needs_rehash, verify_password
from shared.settings import get_settings
from shared.tokens import issue_token


def issue_access_token(username: str, password: str, address: str) -> dict[str, Any]:
    # U+0000 never reaches PostgreSQL: no user has such an email or password, so it is a
    # failed sign-in like any other.
    user = None
    if NUL not in username and NUL not in password:
        user = User.objects.filter(email=username.lower()).first()
    # An unknown email is verified against a dummy hash: both failures cost the same time and
    # read the same.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        _record_failure(sign_in_key(username), address)
        raise IncorrectCredentials()
    _record_success(user, password, address)
    settings = get_settings()
    return {
        "access_token": issue_token(user.id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }


@transaction.atomic
def _record_failure(email: str, address: str) -> None:
    """Committed at once, although the answer is a 401."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sign_in_failed(%s, %s::inet, %s)",
            [email, address, get_settings().login_throttle_window_seconds],
        )


@transaction.atomic
def _record_success(user: User, password: str, address: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sign_in_succeeded(%s, %s::inet)", [user.email, address])
    if needs_rehash(user.password_hash):
        User.objects.filter(pk=user.pk).update(password_hash=hash_password(password))
