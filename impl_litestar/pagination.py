"""Keyset pagination for the controllers: the `limit`/`cursor` parameters and an async `paginate`
over shared.keyset (the order and cursor keys every SQLAlchemy implementation shares), answering
a bad cursor with the contract's 422."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar.params import Parameter
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.errors import RequestValidationFailed
from shared import problems, selects
from shared.cursors import InvalidCursor, decode_cursor, encode_cursor
from shared.keyset import Keyset
from shared.problems import field_error
from shared.settings import Settings
from shared.vocabulary import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, PAGE_LIMIT_MIN

DEFAULT_LIMIT = PAGE_LIMIT_DEFAULT


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


# Declared on each list handler rather than provided by a dependency: Litestar validates each
# dependency's parameters on their own, and `limit=0&status=bogus` must report both errors.
Limit = Annotated[int, Parameter(ge=PAGE_LIMIT_MIN, le=PAGE_LIMIT_MAX, description="Page size.")]
Cursor = Annotated[
    str | None,
    Parameter(
        description="`next_cursor` of the previous page; valid only for the same list, filters "
        "and sort."
    ),
]


@dataclass(frozen=True, slots=True)
class Window:
    """One page (ORM entities, or rows for `paginate_rows`) and the cursor of the next."""

    rows: list[Any]
    next_cursor: str | None


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    keyset: Keyset,
    params: PageParams,
    scope_id: str,
    settings: Settings,
) -> Window:
    """A page of `statement` (selecting one ORM entity) in `keyset` order; `settings` key the
    cursors' signatures."""
    statement = _page(statement, keyset, params, scope_id, settings)
    return _window(
        list((await session.scalars(statement)).unique()), keyset, params, scope_id, settings
    )


async def paginate_rows(
    session: AsyncSession,
    page: Select[Any],
    parameters: dict[str, Any],
    keyset: Keyset,
    params: PageParams,
    scope_id: str,
    settings: Settings,
) -> Window:
    """`paginate` for a page statement of columns built once (shared.selects.task_list_page,
    its LIMIT the parameter PAGE_ROWS) and its `parameters`: a page of rows."""
    if params.cursor is not None:
        page = page.where(keyset.after(_cursor_values(keyset, params, scope_id, settings)))
    rows = list(await session.execute(page, {**parameters, selects.PAGE_ROWS: params.limit + 1}))
    return _window(rows, keyset, params, scope_id, settings)


def _page(
    statement: Select[Any], keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> Select[Any]:
    """`statement` after the cursor's position, in `keyset` order, one row more than the page
    (to know whether there is a next)."""
    if params.cursor is not None:
        statement = statement.where(
            keyset.after(_cursor_values(keyset, params, scope_id, settings))
        )
    return statement.order_by(*keyset.order_by()).limit(params.limit + 1)


def _cursor_values(
    keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> list[Any]:
    """The keys of the cursor's position; the contract's 422 for a cursor that is not one of
    this list's."""
    try:
        return keyset.load(decode_cursor(params.cursor or "", scope_id, settings))
    except (InvalidCursor, ValueError, TypeError):
        raise RequestValidationFailed(
            [field_error(["query", "cursor"], "invalid_cursor", problems.INVALID_CURSOR)]
        ) from None


def _window(
    rows: list[Any], keyset: Keyset, params: PageParams, scope_id: str, settings: Settings
) -> Window:
    if len(rows) <= params.limit:
        return Window(rows, None)
    rows = rows[: params.limit]
    return Window(rows, encode_cursor(scope_id, keyset.dump(rows[-1]), settings))
