"""The one wire format for timestamps and dates (contract/DECISIONS.md, "Wire format")."""

from __future__ import annotations

from datetime import UTC, date, datetime


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC, always six fractional digits and a `Z`: 2026-11-22T09:30:00.123456Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes have no place on the wire")
    # isoformat, not strftime: half the cost (a page of tasks formats forty of these), and a
    # four-digit year whatever the year.
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def format_date(value: date) -> str:
    return value.isoformat()
