"""Framework-agnostic HTTP rules of the contract (contract/DECISIONS.md): request ids, ETags,
CORS policy."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Last-Event-ID: a browser EventSource sends it when it reconnects (streamProjectEvents), and it
# is not a CORS-safelisted header, so a cross-origin reconnect is preflighted.
CORS_ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "Last-Event-ID",
)
CORS_EXPOSE_HEADERS = ("ETag", "Location", "X-Request-ID")
CORS_MAX_AGE = 600


def request_id(incoming: str | None) -> str:
    """Echo a well-formed client request id, else mint one."""
    if incoming is not None and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return str(uuid.uuid4())


def canonical_json(value: Any) -> bytes:
    """The one canonical JSON of the contract (ETags, idempotency fingerprints): keys sorted, no
    whitespace, non-ASCII as UTF-8. Equal JSON values give equal bytes in every implementation."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def representation_etag(body: Any) -> str:
    """The strong ETag of a representation: its body's canonical JSON, hashed (contract 1.1).

    `body` is the response body as JSON values (dicts, lists, strings, numbers, booleans, None):
    what the client will parse, not an ORM object."""
    return '"' + hashlib.sha256(canonical_json(body)).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def if_match_fails(header: str | None, current_etag: str) -> bool:
    """True when an If-Match precondition is present and not met (strong comparison)."""
    if header is None:
        return False
    tags = _tags(header)
    if "*" in tags:
        return False
    return current_etag not in tags


def if_none_match_hits(header: str | None, current_etag: str) -> bool:
    """True when If-None-Match matches the current ETag (weak comparison) → 304."""
    if header is None:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == current_etag for tag in _tags(header))


def like_escape(text: str) -> str:
    """Escape LIKE wildcards so user input matches literally (escape character `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
