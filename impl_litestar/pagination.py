"""Keyset pagination over shared.cursors: order by a unique key, fetch `limit + 1` rows, continue
strictly after the last row's key. Cursor keys are JSON (wire timestamps, YYYY-MM-DD dates,
uuid strings, ints) and scopes use the same parameter names as every other implementation, so a
cursor minted by one works on the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from litestar.params import Parameter
from sqlalchemy import ColumnElement, Select, and_, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import RequestValidationFailed
from shared.cursors import Codec, InvalidCursor, decode_cursor, encode_cursor
from shared.problems import field_error
from shared.settings import get_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


# Declared on each list handler rather than provided by a dependency: Litestar validates each
# dependency's parameters on their own, and `limit=0&status=bogus` must report both errors.
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size.")]
Cursor = Annotated[str | None, Parameter(
    description="`next_cursor` of the previous page; valid only for the same list, filters "
                "and sort.")]


@dataclass(frozen=True, slots=True)
class Key:
    column: Any  # an ORM attribute
    codec: Codec
    nullable: bool = False  # NULLs sort last in both directions


@dataclass(frozen=True, slots=True)
class Keyset:
    """Sort keys in one direction; the last one unique (the id)."""

    keys: tuple[Key, ...]
    descending: bool = False

    def order_by(self) -> list[Any]:
        clauses = []
        for key in self.keys:
            clause = key.column.desc() if self.descending else key.column.asc()
            clauses.append(clause.nulls_last() if key.nullable else clause)
        return clauses

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values` (a row-value comparison the indexes serve)."""
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

    def dump(self, row: Any) -> list[Any]:
        return [None if (value := getattr(row, key.column.key)) is None else key.codec.dump(value)
                for key in self.keys]

    def load(self, raw: list[Any]) -> list[Any]:
        if len(raw) != len(self.keys):
            raise ValueError("wrong number of key values")
        return [None if value is None and key.nullable else key.codec.load(value)
                for key, value in zip(self.keys, raw, strict=True)]


@dataclass(frozen=True, slots=True)
class Window:
    """One page of ORM rows and the cursor of the next."""

    rows: list[Any]
    next_cursor: str | None


async def paginate(session: AsyncSession, statement: Select[Any], keyset: Keyset,
                   params: PageParams, scope_id: str) -> Window:
    """A page of `statement` (selecting one ORM entity) in `keyset` order."""
    settings = get_settings()
    if params.cursor is not None:
        try:
            values = keyset.load(decode_cursor(params.cursor, scope_id, settings))
        except (InvalidCursor, ValueError, TypeError):
            raise RequestValidationFailed([field_error(
                ["query", "cursor"], "invalid_cursor",
                "The cursor is malformed or belongs to another list")]) from None
        statement = statement.where(keyset.after(values))
    statement = statement.order_by(*keyset.order_by()).limit(params.limit + 1)
    rows = list((await session.scalars(statement)).unique())
    if len(rows) <= params.limit:
        return Window(rows, None)
    rows = rows[: params.limit]
    return Window(rows, encode_cursor(scope_id, keyset.dump(rows[-1]), settings))
