"""Keyset pagination (contract/DECISIONS.md, "Pagination"): a synchronous `paginate` over
shared.keyset, the order and cursor keys every SQLAlchemy implementation shares (the lists'
statements and Keysets are shared.selects'), so a cursor minted by one works on the others.

A list fetches `limit + 1` rows; the extra row only says whether a next page exists."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from sqlalchemy import Select

from impl_flask import db
from shared import problems, selects
from shared.cursors import InvalidCursor, decode_cursor, encode_cursor
from shared.keyset import Keyset
from shared.problems import field_error
from shared.settings import get_settings


def paginate(
    statement: Select[Any], keyset: Keyset, limit: int, cursor: str | None, scope_id: str
) -> dict[str, Any]:
    """One page of `statement` (its ORM entities) in `keyset` order: one row more than the page,
    which says whether there is a next."""
    statement = _after_cursor(statement, keyset, cursor, scope_id)
    statement = statement.order_by(*keyset.order_by()).limit(limit + 1)
    fetched = db.session().execute(statement).scalars().unique().all()
    return _page(list(fetched), keyset, limit, scope_id)


def paginate_rows(
    page: Select[Any],
    parameters: dict[str, Any],
    keyset: Keyset,
    limit: int,
    cursor: str | None,
    scope_id: str,
) -> dict[str, Any]:
    """One page of rows (no ORM entity) of a page statement built once, ordered and with its
    LIMIT the parameter PAGE_ROWS (shared.selects.task_list_page), run with `parameters`."""
    page = _after_cursor(page, keyset, cursor, scope_id)
    fetched = db.session().execute(page, {**parameters, selects.PAGE_ROWS: limit + 1}).all()
    return _page(list(fetched), keyset, limit, scope_id)


def _after_cursor(
    statement: Select[Any], keyset: Keyset, cursor: str | None, scope_id: str
) -> Select[Any]:
    """`statement` after the cursor's position; a cursor that is malformed, tampered with or
    of another list → 422 invalid_cursor."""
    if cursor is None:
        return statement
    try:
        values = keyset.load(decode_cursor(cursor, scope_id, get_settings()))
    except (InvalidCursor, ValueError, TypeError):
        abort(
            422,
            errors=[field_error(["query", "cursor"], "invalid_cursor", problems.INVALID_CURSOR)],
        )
    return statement.where(keyset.after(values))


def _page(fetched: list[Any], keyset: Keyset, limit: int, scope_id: str) -> dict[str, Any]:
    items = fetched[:limit]
    next_cursor = (
        encode_cursor(scope_id, keyset.dump(items[-1]), get_settings())
        if len(fetched) > limit
        else None
    )
    return {"items": items, "next_cursor": next_cursor}
