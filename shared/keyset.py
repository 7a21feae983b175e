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

from sqlalchemy import ColumnElement, func, literal_column, tuple_

from shared.cursors import Codec, JsonScalar, load_keys


@dataclass(frozen=True, slots=True)
class Key:
    column: Any  # an ORM attribute, e.g. orm.Task.created_at
    codec: Codec
    # For a nullable key: the SQL sentinels NULL sorts as, (ascending, descending), so NULLs
    # come last in both directions (shared.cursors.DATE_NULLS_LAST).
    nulls_last_as: tuple[str, str] | None = None

    @property
    def nullable(self) -> bool:
        return self.nulls_last_as is not None


@dataclass(frozen=True, slots=True)
class Keyset:
    """Sort keys, the last one unique (the id); all in one direction."""

    keys: tuple[Key, ...]
    descending: bool = False

    def _sentinel(self, key: Key) -> Any:
        assert key.nulls_last_as is not None
        return literal_column(key.nulls_last_as[1 if self.descending else 0])

    def _sorted_on(self, key: Key) -> Any:
        """What the order sorts on: the column, or for a nullable one the column with NULL as
        its sentinel (the expression the index is on)."""
        return func.coalesce(key.column, self._sentinel(key)) if key.nullable else key.column

    def order_by(self) -> list[Any]:
        expressions = [self._sorted_on(key) for key in self.keys]
        return [e.desc() if self.descending else e.asc() for e in expressions]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values` in this order: one row-value comparison, which the
        order's index serves as a range."""
        left = tuple_(*(self._sorted_on(key) for key in self.keys))
        right = tuple_(
            *(
                self._sentinel(key) if value is None and key.nullable else value
                for key, value in zip(self.keys, values, strict=True)
            )
        )
        return left < right if self.descending else left > right

    def dump(self, row: Any) -> list[JsonScalar]:
        """The cursor keys of `row` (an instance of the entity the list selects)."""
        return [
            None if (value := getattr(row, key.column.key)) is None else key.codec.dump(value)
            for key in self.keys
        ]

    def load(self, raw: list[Any]) -> list[Any]:
        """Cursor keys back into SQL values; ValueError or TypeError when they do not fit."""
        return load_keys(raw, self.keys)
