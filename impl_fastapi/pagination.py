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
from shared import selects
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


def _after_cursor(
    statement: Select[Any], keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> Select[Any]:
    """`statement` after the cursor's position (unchanged on a first page)."""
    if params.cursor is None:
        return statement
    try:
        values = keyset.load(decode_cursor(params.cursor, scope_id, settings))
    except (MalformedCursor, ValueError, TypeError):
        raise InvalidCursor() from None
    return statement.where(keyset.after(values))


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
    """One page of `statement` (which selects one ORM entity) in `keyset` order: one row more
    than the page, which says whether there is a next."""
    statement = _after_cursor(statement, keyset, params, scope_id, settings)
    statement = statement.order_by(*keyset.order_by()).limit(params.limit + 1)
    rows = list((await session.scalars(statement)).unique())
    return _page(rows, keyset, params, scope_id, settings)


async def paginate_rows(
    session: AsyncSession,
    page: Select[Any],
    parameters: dict[str, Any],
    keyset: Keyset,
    params: PageParams,
    scope_id: str,
    settings: Settings,
) -> Page[Row[Any]]:
    """One page of rows (no ORM entity) of a page statement built once, ordered and with its
    LIMIT the parameter PAGE_ROWS (shared.selects.task_list_page), run with `parameters`."""
    page = _after_cursor(page, keyset, params, scope_id, settings)
    rows = list(await session.execute(page, {**parameters, selects.PAGE_ROWS: params.limit + 1}))
    return _page(rows, keyset, params, scope_id, settings)
