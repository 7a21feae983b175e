"""Users (createUser; the lists and lookups are impl_drf.selectors)."""

from __future__ import annotations

from impl_drf.errors import integrity_conflicts
from impl_drf.models import User
from shared.passwords import hash_password


def create_user(email: str, display_name: str, password: str, is_admin: bool) -> User:
    password_hash = hash_password(password)  # CPU-bound: before the transaction, not in it
    with integrity_conflicts():  # the transaction; a duplicate email is a 409
        return User.objects.create(
            email=email.lower(),
            display_name=display_name,
            password_hash=password_hash,
            is_admin=is_admin,
        )
