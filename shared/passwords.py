"""argon2id password hashing in the one PHC string format every implementation reads."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 15  # NIST SP 800-63B, single-factor passwords
MAX_LENGTH = 128

# RFC 9106's second recommended option (64 MiB, t=3, p=4), argon2-cffi's default profile.
_hasher = PasswordHasher()

# Verified when an email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("quartet-timing-equaliser-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work whether or not the user exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
