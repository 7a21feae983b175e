"""JWT access tokens: HS256 only, claims sub/iat/exp (contract/DECISIONS.md, "Auth")."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from shared.settings import Settings

ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is malformed, forged, expired, or not HS256."""


def issue_token(user_id: uuid.UUID, settings: Settings, now: int | None = None) -> str:
    issued_at = int(time.time()) if now is None else now
    claims = {
        "sub": str(user_id),
        "iat": issued_at,
        "exp": issued_at + settings.access_token_ttl_seconds,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A valid token's claims: whom it speaks for, and until when (its `exp`, epoch seconds: an
    event stream ends then)."""

    user_id: uuid.UUID
    expires_at: int


def read_token(token: str, settings: Settings) -> AccessToken:
    """The claims of a valid token. Existence of the user is the caller's check."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],  # pins the algorithm: `alg: none` and RS/HS confusion fail
            options={"require": ["sub", "iat", "exp"]},
        )
        return AccessToken(uuid.UUID(claims["sub"]), int(claims["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken(str(exc)) from None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
