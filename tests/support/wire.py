"""How the contract spells things on the wire (contract/openapi.yaml "Wire format"): the
embedded user summary, the ETag of a version, timestamps."""

from __future__ import annotations

from typing import Any

from support.contract import is_wire_timestamp


def summary(account: Any) -> dict[str, str]:
    """The UserSummary the API embeds for an Account (assignee, author, actor, ...)."""
    return {"id": account.id, "email": account.email, "display_name": account.display_name}


def etag(version: int) -> str:
    """The strong ETag of a representation at `version`: `"<version>"`."""
    return f'"{version}"'


def assert_timestamp(value: Any) -> None:
    """UTC, six fractional digits, `Z` (`2026-11-22T09:30:00.123456Z`)."""
    assert isinstance(value, str) and is_wire_timestamp(value), f"not a wire timestamp: {value!r}"
