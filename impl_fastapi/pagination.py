"""Keyset pagination over shared.cursors: ordered by a unique key, fetch `limit + 1` rows,
continue strictly after the last row's key. Cursors carry the key in JSON form (timestamps in
the wire format, dates as YYYY-MM-DD, uuids as strings), so every implementation reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Select, and_, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import InvalidCursor
from shared.cursors import Codec, decode_cursor, encode_cursor
from shared.cursors import InvalidCursor as MalformedCursor
from shared.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit, cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]


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
        if values[0] is None:  # inside the trailing NULL block: only the tie-breaker moves
            return and_(first.column.is_(None), beyond(columns[1:], values[1:]))
        return or_(beyond(columns, values), first.column.is_(None))

    def dump(self, row: Any) -> list[Any]:
        values = []
        for key in self.keys:
            value = getattr(row, key.column.key)
            values.append(None if value is None else key.codec.dump(value))
        return values

    def load(self, raw: list[Any]) -> list[Any]:
        if len(raw) != len(self.keys):
            raise ValueError("wrong number of key values")
        return [None if value is None and key.nullable else key.codec.load(value)
                for key, value in zip(self.keys, raw, strict=True)]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


async def paginate(session: AsyncSession, statement: Select[Any], keyset: Keyset,
                   params: PageParams, scope_id: str, settings: Settings) -> Page[Any]:
    """One page of `statement` (which selects one ORM entity) in `keyset` order."""
    if params.cursor is not None:
        try:
            values = keyset.load(decode_cursor(params.cursor, scope_id, settings))
        except (MalformedCursor, ValueError, TypeError):
            raise InvalidCursor() from None
        statement = statement.where(keyset.after(values))
    statement = statement.order_by(*keyset.order_by()).limit(params.limit + 1)
    rows = list((await session.scalars(statement)).unique())
    if len(rows) <= params.limit:
        return Page(rows, None)
    rows = rows[: params.limit]
    return Page(rows, encode_cursor(scope_id, keyset.dump(rows[-1]), settings))
