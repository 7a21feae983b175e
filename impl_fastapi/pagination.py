"""Keyset pagination as FastAPI dependencies: the `limit`/`cursor` query parameters and an async
`paginate` over shared.keyset (the order and cursor keys every SQLAlchemy implementation shares)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.errors import InvalidCursor
from impl_fastapi.schemas import ASCII_INT, QueryText
from shared.cursors import InvalidCursor as MalformedCursor
from shared.cursors import decode_cursor, encode_cursor
from shared.keyset import Keyset
from shared.settings import Settings
from shared.vocabulary import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, PAGE_LIMIT_MIN

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(  # async: no threadpool hop (settings.py)
    limit: Annotated[
        int, Query(ge=PAGE_LIMIT_MIN, le=PAGE_LIMIT_MAX, description="Page size."), *ASCII_INT
    ] = PAGE_LIMIT_DEFAULT,
    cursor: Annotated[
        QueryText | None, Query(description="`next_cursor` of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(limit, cursor)


PageQuery = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _keyset_page(
    statement: Select[Any], keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> Select[Any]:
    """`statement` in `keyset` order, after the cursor's position, one row more than the page
    (the extra row says whether there is a next page)."""
    if params.cursor is not None:
        try:
            values = keyset.load(decode_cursor(params.cursor, scope_id, settings))
        except (MalformedCursor, ValueError, TypeError):
            raise InvalidCursor() from None
        statement = statement.where(keyset.after(values))
    return statement.order_by(*keyset.order_by()).limit(params.limit + 1)


def _page(
    rows: list[Any], keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> Page[Any]:
    if len(rows) <= params.limit:
        return Page(rows, None)
    rows = rows[: params.limit]
    return Page(rows, encode_cursor(scope_id, keyset.dump(rows[-1]), settings))


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    keyset: Keyset,
    params: PageParams,
    scope_id: str,
    settings: Settings,
) -> Page[Any]:
    """One page of `statement` (which selects one ORM entity) in `keyset` order."""
    statement = _keyset_page(statement, keyset, params, scope_id, settings)
    rows = list((await session.scalars(statement)).unique())
    return _page(rows, keyset, params, scope_id, settings)


async def paginate_rows(
    session: AsyncSession,
    statement: Select[Any],
    keyset: Keyset,
    params: PageParams,
    scope_id: str,
    settings: Settings,
) -> Page[Row[Any]]:
    """One page of `statement` (which selects columns: rows, no ORM entity) in `keyset` order."""
    statement = _keyset_page(statement, keyset, params, scope_id, settings)
    rows = list((await session.execute(statement)).all())
    return _page(rows, keyset, params, scope_id, settings)
