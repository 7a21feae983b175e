"""Opaque, signed keyset cursors, one format for every implementation (contract/DECISIONS.md,
"Pagination").

A cursor is `base64url(payload) "." base64url(hmac)`, the payload `{"s": scope, "k": keys}`.
The scope pins a cursor to one list with one set of filters and one sort, so a cursor from
another list (or the same list filtered differently) is refused instead of paging nonsense.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.settings import Settings
from shared.timefmt import format_timestamp

JsonScalar = str | int | float | bool | None


class InvalidCursor(ValueError):
    """Malformed, tampered with, or minted for another list."""


def scope(list_name: str, **params: Any) -> str:
    """A stable fingerprint of a list's identity: its name plus every filter and sort.

    Lists (repeatable filters) are compared as sorted sets; None and absent are the same.
    """
    canonical: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or value == [] or value == ():
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            value = sorted(str(v) for v in value)
        else:
            value = str(value)
        canonical[key] = value
    blob = json.dumps([list_name, canonical], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: bytes, settings: Settings) -> bytes:
    key = hashlib.sha256(b"quartet-cursor:" + settings.secret_key.encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:16]


def encode_cursor(scope_id: str, keys: Sequence[JsonScalar], settings: Settings) -> str:
    payload = json.dumps({"s": scope_id, "k": list(keys)}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, settings))}"


def decode_cursor(cursor: str, scope_id: str, settings: Settings) -> list[JsonScalar]:
    """The key values of a cursor minted for `scope_id`, or InvalidCursor."""
    try:
        body, _, signature = cursor.partition(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(signature), _mac(payload, settings)):
            raise InvalidCursor("signature mismatch")
        data = json.loads(payload)
    except InvalidCursor:
        raise
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if (
        not isinstance(data, dict)
        or data.get("s") != scope_id
        or not isinstance(data.get("k"), list)
    ):
        raise InvalidCursor("cursor belongs to another list")
    return data["k"]


# --------------------------------------------------------------------------- key values
# How each kind of sort key travels inside a cursor (DECISIONS.md: timestamps as wire strings,
# dates as YYYY-MM-DD, uuids as strings, ints). One table, so every implementation's cursors
# carry the same JSON and are interchangeable.


@dataclass(frozen=True, slots=True)
class Codec:
    """A key value to and from its JSON form in a cursor."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


TIMESTAMP = Codec(format_timestamp, lambda v: dt.datetime.fromisoformat(_text(v)))
DATE = Codec(dt.date.isoformat, lambda v: dt.date.fromisoformat(_text(v)))
UUID = Codec(str, lambda v: uuid.UUID(_text(v)))
TEXT = Codec(str, _text)
INT = Codec(int, _int)


# A nullable sort key sorts NULLs last in both directions by sorting on
# coalesce(key, sentinel): +infinity ascending, -infinity descending. The indexes of
# migration 0003 are on exactly these expressions, so a page and its keyset condition are one
# index range; cursors still carry the key's own value (null for a missing date).
DATE_NULLS_LAST = ("'infinity'::date", "'-infinity'::date")  # (ascending, descending)


def load_keys(raw: Any, keys: Sequence[Any]) -> list[Any]:
    """A cursor's key values back into SQL values, one per key of a keyset (anything with a
    `codec` and a `nullable`), None only where the key may be NULL; ValueError or TypeError
    when they do not fit."""
    if len(raw) != len(keys):
        raise ValueError("wrong number of key values")
    return [
        None if value is None and key.nullable else key.codec.load(value)
        for key, value in zip(keys, raw, strict=True)
    ]
