"""argon2id password hashing in the one PHC string format every implementation reads."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.settings import load_settings


@cache
def _hasher() -> PasswordHasher:
    """RFC 9106's low-memory option (64 MiB, t=3, p=4) — or minimal cost under the test profile.

    Verification always uses the parameters stored in the hash itself."""
    if load_settings().password_hash_profile == "test":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


@cache
def _dummy_hash() -> str:
    """Verified when an email is unknown, so both failures cost the same time."""
    return _hasher().hash("quartet-timing-equaliser-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current profile's: upgrade
    it at the next successful sign-in (contract/DECISIONS.md, "Secrets and passwords")."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; the same work whether or not the user exists."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
