"""Idempotent creates (contract/DECISIONS.md, "Idempotent creates"): the header's rules, the
request fingerprint, and the names of the two SQL functions of migration 0004 that every
implementation calls in the request's transaction (idempotency_begin / idempotency_finish).

The flow, the same in all four:
    state = idempotency_begin(user_id, key, fingerprint)        -- after validation
    'in_flight' → 409 IN_FLIGHT   'reused' → 422 idempotency_key_reused at HEADER_LOC
    'replay'    → the stored status, body bytes, Location, ETag + REPLAYED_HEADER
    'new'       → run the request; on a 2xx, idempotency_finish(...) with the exact response
                  bytes, before the transaction commits (4xx/5xx: nothing is stored)"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from shared.httputil import canonical_json

HEADER = "Idempotency-Key"
HEADER_LOC: list[str | int] = ["header", "idempotency-key"]
REPLAYED_HEADER = ("Idempotent-Replayed", "true")
MAX_LENGTH = 255
PATTERN = r"^[ -~]+$"  # printable ASCII, as documented
_PRINTABLE = re.compile(r"[ -~]+")
TTL_SECONDS = 24 * 3600

IN_FLIGHT = "A request with this Idempotency-Key is still in flight."
REUSED = "This Idempotency-Key was used for another request."


def key_error(value: str) -> tuple[str, str] | None:
    """(error type, message) when the header value breaks the contract's rules, else None."""
    if value == "":
        return "string_too_short", "Idempotency-Key must not be empty"
    if len(value) > MAX_LENGTH:
        return "string_too_long", f"Idempotency-Key must be at most {MAX_LENGTH} characters"
    if not _PRINTABLE.fullmatch(value):
        return "string_pattern_mismatch", "Idempotency-Key must be printable ASCII"
    return None


def fingerprint(method: str, path: str, body: Any) -> str:
    """The identity of a request: method, path (no query) and the canonical JSON of its parsed
    body, so key order and whitespace do not make two requests different."""
    digest = hashlib.sha256()
    digest.update(f"{method.upper()}\n{path}\n".encode())
    digest.update(canonical_json(body))
    return digest.hexdigest()
