"""Keyset pagination over shared.cursors, as a DRF pagination class.

Ordered by a unique key (the last key is the id), fetch `limit + 1` rows, continue strictly
after the last row's key. Cursors carry the key values in JSON form — timestamps in the wire
format, dates as YYYY-MM-DD, uuids as strings, ints — and the scope of the list, so a cursor
minted by any implementation pages here (shared/keyset.py is the same for SQLAlchemy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import DateField, F, Field, Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from impl_drf.validation import invalid
from shared.cursors import Codec, InvalidCursor, decode_cursor, encode_cursor, load_keys
from shared.problems import INVALID_CURSOR
from shared.settings import get_settings


@dataclass(frozen=True, slots=True)
class Key:
    field: str
    codec: Codec
    # For a nullable key: the SQL sentinels NULL sorts as, (ascending, descending), so NULLs
    # come last in both directions (shared.cursors.DATE_NULLS_LAST).
    nulls_last_as: tuple[str, str] | None = None

    @property
    def nullable(self) -> bool:
        return self.nulls_last_as is not None


class Row(Func):
    """A SQL row value, `(a, b, ...)`."""

    template = "(%(expressions)s)"
    output_field = Field()


@dataclass(frozen=True, slots=True)
class Keyset:
    """Sort keys, the last one unique (the id), all in one direction."""

    keys: tuple[Key, ...]
    descending: bool = False

    def _sentinel(self, key: Key) -> RawSQL:
        assert key.nulls_last_as is not None
        return RawSQL(key.nulls_last_as[1 if self.descending else 0], ())

    def _sorted_on(self, key: Key) -> Any:
        """What the order sorts on: the field, or for a nullable one the field with NULL as its
        sentinel — the expression migration 0003's index is on."""
        if key.nullable:
            return Coalesce(F(key.field), self._sentinel(key), output_field=DateField())
        return F(key.field)

    def order_by(self) -> list[Any]:
        return [
            self._sorted_on(key).desc() if self.descending else self._sorted_on(key).asc()
            for key in self.keys
        ]

    def after(self, values: Sequence[Any]) -> Q:
        """Rows strictly after `values` in this order: one row-value comparison, which the index
        of the order serves as a range (an OR of column comparisons would be a filter)."""
        compare = LessThan if self.descending else GreaterThan
        left = Row(*(self._sorted_on(key) for key in self.keys))
        right = Row(
            *(
                self._sentinel(key) if value is None and key.nullable else Value(value)
                for key, value in zip(self.keys, values, strict=True)
            )
        )
        return Q(compare(left, right))

    def dump(self, row: Any) -> list[Any]:
        """The cursor values of `row`, a model instance or a `values()` row."""
        values = []
        for key in self.keys:
            value = row[key.field] if isinstance(row, dict) else getattr(row, key.field)
            values.append(None if value is None else key.codec.dump(value))
        return values

    def load(self, raw: list[Any]) -> list[Any]:
        return load_keys(raw, self.keys)


class KeysetPagination(BasePagination):
    """`{"items": [...], "next_cursor": ...}` pages of a view's queryset.

    The view provides `keyset` (or `get_keyset()`), `cursor_scope()` and the validated
    `limit`/`cursor` query values (impl_drf.serializers.PageQuerySerializer)."""

    next_cursor: str | None = None

    def paginate_queryset(self, queryset: QuerySet, request: Any, view: Any = None) -> list[Any]:
        settings = get_settings()
        keyset: Keyset = view.get_keyset()
        scope_id = view.cursor_scope()
        limit = view.validated_query["limit"]
        cursor = view.validated_query.get("cursor")
        if cursor is not None:
            try:
                values = keyset.load(decode_cursor(cursor, scope_id, settings))
            except (InvalidCursor, ValueError, TypeError):
                raise invalid("query", "cursor", "invalid_cursor", INVALID_CURSOR) from None
            queryset = queryset.filter(keyset.after(values))
        rows = list(queryset.order_by(*keyset.order_by())[: limit + 1])
        if len(rows) > limit:
            rows = rows[:limit]
            self.next_cursor = encode_cursor(scope_id, keyset.dump(rows[-1]), settings)
        return rows

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response({"items": data, "next_cursor": self.next_cursor})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": schema,
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Cursor of the next page; null on the last page.",
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return []  # `limit` and `cursor` are documented by the view's query serializer
