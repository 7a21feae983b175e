"""Framework-agnostic HTTP rules of the contract (contract/DECISIONS.md): request ids, ETags,
CORS policy."""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID")
CORS_EXPOSE_HEADERS = ("ETag", "Location", "X-Request-ID")
CORS_MAX_AGE = 600


def request_id(incoming: str | None) -> str:
    """Echo a well-formed client request id, else mint one."""
    if incoming is not None and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def etag(version: int) -> str:
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def if_match_fails(header: str | None, version: int) -> bool:
    """True when an If-Match precondition is present and not met (strong comparison)."""
    if header is None:
        return False
    tags = _tags(header)
    if "*" in tags:
        return False
    return etag(version) not in tags


def if_none_match_hits(header: str | None, version: int) -> bool:
    """True when If-None-Match matches the current ETag (weak comparison) → 304."""
    if header is None:
        return False
    current = etag(version)
    return any(tag == "*" or tag.removeprefix("W/") == current for tag in _tags(header))


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user input matches literally (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
