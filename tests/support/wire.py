"""How the contract spells things on the wire (contract/openapi.yaml "Wire format"): the
embedded user summary, the ETag of a representation, timestamps.

The ETag oracle is written here from the text of contract/DECISIONS.md ("Wire format"), not
imported from shared/httputil.py, which the implementations use: a bug there would otherwise
be a bug in the expected value too."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx

from support.contract import is_wire_timestamp

# DECISIONS "Wire format": `"` + the first 32 hex digits of SHA-256 + `"` (lower-case hex, as
# the contract's header schema spells it).
ETAG_PATTERN = re.compile(r'"[0-9a-f]{32}"')

# A well-formed ETag that no representation has: stands for "any stale validator".
NEVER_MATCHES = '"' + "0" * 32 + '"'


def summary(account: Any) -> dict[str, str]:
    """The UserSummary the API embeds for an Account (assignee, author, actor, ...)."""
    return {"id": account.id, "email": account.email, "display_name": account.display_name}


def canonical_json(value: Any) -> bytes:
    """Canonical JSON as DECISIONS "Wire format" defines it: keys sorted, separators `,` and `:`
    with no whitespace, non-ASCII as UTF-8 (not `\\u` escapes), the values as the body carries
    them."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def representation_etag(body: Any) -> str:
    """The ETag the contract prescribes for a response body (the JSON values a client parses)."""
    return '"' + hashlib.sha256(canonical_json(body)).hexdigest()[:32] + '"'


def etag_of(response: httpx.Response) -> str:
    """The ETag a response must carry: the oracle applied to its body as parsed from the wire."""
    return representation_etag(json.loads(response.content))


def assert_etag(response: httpx.Response) -> str:
    """The response carries exactly one ETag, well-formed, and it is the hash of its own body;
    returns it."""
    values = response.headers.get_list("etag")
    assert len(values) == 1, f"{response.request.method} {response.request.url}: ETag {values}"
    assert ETAG_PATTERN.fullmatch(values[0]), f"malformed ETag {values[0]!r}"
    assert values[0] == etag_of(response), (
        f"{response.request.method} {response.request.url}: ETag {values[0]} is not the hash of "
        f"the body's canonical JSON ({etag_of(response)})"
    )
    return values[0]


def assert_timestamp(value: Any) -> None:
    """UTC, six fractional digits, `Z` (`2026-11-22T09:30:00.123456Z`)."""
    assert isinstance(value, str) and is_wire_timestamp(value), f"not a wire timestamp: {value!r}"
