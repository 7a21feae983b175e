"""Keyset pagination (contract/DECISIONS.md, "Pagination"): a synchronous `paginate` over
shared.keyset, the order and cursor keys every SQLAlchemy implementation shares (the lists'
statements and Keysets are shared.selects'), so a cursor minted by one works on the others.

A list fetches `limit + 1` rows; the extra row only says whether a next page exists."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from sqlalchemy import Select

from impl_flask import db
from shared import problems
from shared.cursors import InvalidCursor, decode_cursor, encode_cursor
from shared.keyset import Keyset
from shared.problems import field_error
from shared.settings import get_settings


def paginate(
    statement: Select[Any],
    keyset: Keyset,
    limit: int,
    cursor: str | None,
    scope_id: str,
    *,
    rows: bool = False,
) -> dict[str, Any]:
    """One page of `statement` in `keyset` order: its ORM entities, or with `rows` its Row
    objects (a statement of columns, shared.selects' `*_rows`); a cursor that is malformed,
    tampered with or of another list → 422 invalid_cursor."""
    settings = get_settings()
    if cursor is not None:
        try:
            values = keyset.load(decode_cursor(cursor, scope_id, settings))
        except (InvalidCursor, ValueError, TypeError):
            abort(
                422,
                errors=[
                    field_error(["query", "cursor"], "invalid_cursor", problems.INVALID_CURSOR)
                ],
            )
        statement = statement.where(keyset.after(values))
    statement = statement.order_by(*keyset.order_by()).limit(limit + 1)
    result = db.session().execute(statement)
    fetched = result.all() if rows else result.scalars().unique().all()
    items = list(fetched[:limit])
    next_cursor = (
        encode_cursor(scope_id, keyset.dump(items[-1]), settings) if len(fetched) > limit else None
    )
    return {"items": items, "next_cursor": next_cursor}
