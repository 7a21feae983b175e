"""The password grant (createToken), after the throttle (impl_drf.throttling, 429 even with the
right password), so that no pooled connection waits on argon2 (contract/DECISIONS.md,
"Throttled sign-in", "Secrets and passwords"): the user's id and hash are read in autocommit and
the connection handed back to the pool; argon2 verifies (an unknown email against a dummy hash:
the same 401, the same time) and re-hashes an outdated hash in a hashing slot
(shared.passwords; 503 past the bound); one short transaction records the outcome."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction

from impl_drf.errors import IncorrectCredentials
from impl_drf.models import User
from shared.inputs import NUL
from shared.passwords import check_password
from shared.settings import get_settings
from shared.throttle import sign_in_key
from shared.tokens import issue_token


def issue_access_token(username: str, password: str, address: str) -> dict[str, Any]:
    credentials = None
    if NUL not in username:  # no user has a U+0000, and PostgreSQL refuses it in text
        credentials = (
            User.objects.filter(email=username.lower()).values_list("id", "password_hash").first()
        )
    _release_connection()

    user_id, stored_hash = credentials or (None, None)
    check = check_password(stored_hash, password)

    email = sign_in_key(username)
    if user_id is None or not check.valid:
        _record_failure(email, address)
        raise IncorrectCredentials()
    _record_success(email, address, user_id, stored_hash, check.upgraded_hash)
    settings = get_settings()
    return {
        "access_token": issue_token(user_id, settings),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
    }


def _release_connection() -> None:
    """Give this thread's connection back to the pool now rather than when the request ends
    (Django's pool takes it back on close); the next query borrows one again."""
    assert not connection.in_atomic_block, "closing inside atomic would abandon the transaction"
    connection.close()


@transaction.atomic
def _record_failure(email: str, address: str) -> None:
    """Committed at once, although the answer is a 401."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sign_in_failed(%s, %s::inet, %s)",
            [email, address, get_settings().login_throttle_window_seconds],
        )


@transaction.atomic
def _record_success(
    email: str, address: str, user_id: uuid.UUID, verified_hash: str, upgraded_hash: str | None
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sign_in_succeeded(%s, %s::inet)", [email, address])
    if upgraded_hash is not None:  # unless a concurrent sign-in upgraded it first
        User.objects.filter(pk=user_id, password_hash=verified_hash).update(
            password_hash=upgraded_hash
        )
