"""Keyset order over the shared SQLAlchemy mapping, for the three SQLAlchemy implementations.

A list orders by sort keys whose last one is unique (the id), all in one direction, fetches
`limit + 1` rows and continues strictly after the last row's keys. Which columns, which
direction, how NULLs sort and how key values travel in a cursor (shared.cursors' codecs) are the
same whatever the framework or the driver; each implementation keeps only its own `paginate`
(async or sync, and its own way of answering 422 to a bad cursor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, tuple_

from shared.cursors import Codec, JsonScalar, load_keys


@dataclass(frozen=True, slots=True)
class Key:
    column: Any  # an ORM attribute, e.g. orm.Task.created_at
    codec: Codec
    nullable: bool = False  # NULLs sort last in both directions


@dataclass(frozen=True, slots=True)
class Keyset:
    """Sort keys, the last one unique (the id); all in one direction."""

    keys: tuple[Key, ...]
    descending: bool = False

    def order_by(self) -> list[Any]:
        clauses = []
        for key in self.keys:
            clause = key.column.desc() if self.descending else key.column.asc()
            clauses.append(clause.nulls_last() if key.nullable else clause)
        return clauses

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values` in this order (row-value comparison, index friendly)."""
        columns = [key.column for key in self.keys]

        def beyond(cols: Sequence[Any], vals: Sequence[Any]) -> ColumnElement[bool]:
            left, right = tuple_(*cols), tuple_(*vals)
            return left < right if self.descending else left > right

        first = self.keys[0]
        if not first.nullable:
            return beyond(columns, values)
        if values[0] is None:  # inside the trailing NULL block: only the tie-breaker moves on
            return and_(first.column.is_(None), beyond(columns[1:], values[1:]))
        return or_(beyond(columns, values), first.column.is_(None))

    def dump(self, row: Any) -> list[JsonScalar]:
        """The cursor keys of `row` (an instance of the entity the list selects)."""
        return [
            None if (value := getattr(row, key.column.key)) is None else key.codec.dump(value)
            for key in self.keys
        ]

    def load(self, raw: list[Any]) -> list[Any]:
        """Cursor keys back into SQL values; ValueError or TypeError when they do not fit."""
        return load_keys(raw, self.keys)
