"""Keyset pagination (SPEC §5) over shared.cursors: the same scopes and key values as every
other implementation (contract/DECISIONS.md), so a cursor minted by one works on the others.

A list fetches `limit + 1` rows; the extra row only says whether a next page exists."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask_smorest import abort

from shared.cursors import InvalidCursor, JsonScalar, decode_cursor, encode_cursor, scope
from shared.problems import field_error
from shared.settings import get_settings
from shared.timefmt import format_date, format_timestamp

T = TypeVar("T")

__all__ = ["scope", "after", "page", "timestamp", "date_or_none", "as_uuid", "as_int", "as_str",
           "ts_key", "date_key"]


def after(cursor: str | None, scope_id: str,
          *converters: Callable[[Any], Any]) -> list[Any] | None:
    """The key values of the row a page starts after (None for the first page), converted for
    SQL; a cursor that is malformed, tampered with or of another list → 422 invalid_cursor."""
    if cursor is None:
        return None
    try:
        keys = decode_cursor(cursor, scope_id, get_settings())
        if len(keys) != len(converters):
            raise InvalidCursor("wrong number of keys")
        return [convert(key) for convert, key in zip(converters, keys, strict=True)]
    except (InvalidCursor, ValueError, TypeError):
        abort(422, errors=[field_error(["query", "cursor"], "invalid_cursor",
                                       "The cursor is malformed or belongs to another list")])


def page(rows: Sequence[T], limit: int, scope_id: str,
         key: Callable[[T], Sequence[JsonScalar]]) -> dict[str, Any]:
    items = list(rows[:limit])
    next_cursor = (encode_cursor(scope_id, key(items[-1]), get_settings())
                   if len(rows) > limit else None)
    return {"items": items, "next_cursor": next_cursor}


# Key values travel as JSON: timestamps as wire strings, dates as YYYY-MM-DD or null, uuids as
# strings, ints as ints. The converters turn them back into SQL parameters.

def timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("timestamp key")
    return dt.datetime.fromisoformat(value)


def date_or_none(value: Any) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("date key")
    return dt.date.fromisoformat(value)


def as_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError("uuid key")
    return uuid.UUID(value)


def as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("int key")
    return value


def as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("str key")
    return value


def ts_key(value: dt.datetime) -> str:
    return format_timestamp(value)


def date_key(value: dt.date | None) -> str | None:
    return None if value is None else format_date(value)
