"""Input that PostgreSQL or a careful parser refuses, recognised the same way by all four
implementations (contract/DECISIONS.md, "Errors" and "Validation error types").

Each framework decodes and validates in its own idiom; these functions are the rules it calls
at the one place where it does: after JSON decoding (depth, surrogates, U+0000 locations), and
where it parses query and path values (ASCII integers and booleans, canonical UUIDs). All are
linear in the size of their input and never recurse, so a hostile document cannot exhaust the
stack or the CPU."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from typing import Any

MAX_JSON_DEPTH = 32  # the body itself is level 1
NUL = "\x00"

_CANONICAL_UUID = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_ASCII_INT = re.compile(r"-?[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedDocument(ValueError):
    """Decoded JSON the contract treats as malformed (400): too deep, or a lone surrogate."""


def check_document(document: Any) -> None:
    """Raise MalformedDocument when the decoded JSON nests deeper than MAX_JSON_DEPTH or holds
    a string (key or value) with an unpaired surrogate (Python's json module decodes
    `"\\ud800"` into a string that no UTF-8 encoder, and no PostgreSQL, accepts).

    A decoder that stops at the depth itself (msgspec, orjson, Python's own recursion limit)
    reports that as malformed too; this check covers what gets past it."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                raise MalformedDocument("nested too deeply")
            for key, item in value.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise MalformedDocument("unpaired surrogate")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedDocument("nested too deeply")
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise MalformedDocument("unpaired surrogate")


def nul_locations(document: Any, root: tuple[str | int, ...] = ("body",)) -> list[list[str | int]]:
    """The `loc` of every string value containing U+0000 (keys are not values: a key with
    U+0000 is an unknown field). Validation reports `invalid_characters` at each, instead of any
    other error at that loc."""
    found: list[list[str | int]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, root)]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                found.append(list(loc))
        elif isinstance(value, dict):
            stack.extend((item, (*loc, key)) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*loc, index)) for index, item in enumerate(value))
    found.sort(key=str)
    return found


def query_nul_locations(
    pairs: Iterable[tuple[str, str]], names: Collection[str], repeatable: Collection[str] = ()
) -> list[list[str | int]]:
    """`loc`s of the documented query parameters whose value contains U+0000: `["query", name]`,
    or `["query", name, index]` for a repeatable one. Undocumented parameters are ignored."""
    found: list[list[str | int]] = []
    seen: dict[str, int] = {}
    for name, value in pairs:
        if name not in names:
            continue
        index = seen.get(name, 0)
        seen[name] = index + 1
        if NUL in value:
            found.append(["query", name, index] if name in repeatable else ["query", name])
    return found


def parse_uuid(text: str) -> uuid.UUID | None:
    """A UUID in exactly the 8-4-4-4-12 hexadecimal form, else None (Python's UUID() also takes
    braces, `urn:uuid:` and missing hyphens)."""
    if not _CANONICAL_UUID.fullmatch(text):
        return None
    return uuid.UUID(text)


def parse_int(text: str) -> int | None:
    """An integer in ASCII digits with an optional leading `-`, else None (Python's int() also
    takes other scripts' digits, `+`, surrounding spaces and `_`)."""
    if not _ASCII_INT.fullmatch(text):
        return None
    return int(text)


def parse_bool(text: str) -> bool | None:
    """`true` or `false`, else None."""
    return {"true": True, "false": False}.get(text)


def fullmatch(pattern: str, text: str) -> bool:
    """Whether `text` matches the contract pattern as a whole (a `$` in the pattern does not let
    a trailing newline through)."""
    return re.fullmatch(pattern, text) is not None
