"""Reading keyset-paginated lists (contract/DECISIONS.md "Pagination") page by page, checking
the page contract on the way: every page but the last is exactly full, and `next_cursor` is
null exactly on the last page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from support.paths import activity_url
from support.responses import expect

DEFAULT_LIMIT = 20  # contract/openapi.yaml: `limit` defaults to 20

Params = dict[str, Any] | list[tuple[str, Any]] | None


def query_pairs(params: Params) -> list[tuple[str, str]]:
    """Query parameters as (name, value) pairs: a list value repeats the name, None is left out."""
    if params is None:
        return []
    if isinstance(params, list):
        return [(key, str(value)) for key, value in params]
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            pairs.extend((key, str(v)) for v in value)
        elif value is not None:
            pairs.append((key, str(value)))
    return pairs


def first_page(
    client: httpx.Client, url: str, params: Params = None, *, limit: int | None = None
) -> dict[str, Any]:
    """One page (`{"items", "next_cursor"}`); a `cursor` among `params` selects which."""
    query = query_pairs(params)
    if limit is not None:
        query.append(("limit", str(limit)))
    return expect(client.get(url, params=query), 200)


def walk_pages(
    client: httpx.Client,
    url: str,
    params: Params = None,
    *,
    limit: int | None = None,
    max_pages: int = 200,
) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor, checking the page contract."""
    base = query_pairs(params)
    # A cursor among the params is where the walk starts; it is replaced page by page, never
    # sent twice (a repeated single-valued parameter is not part of the contract).
    starts_at = [value for key, value in base if key == "cursor"]
    base = [(key, value) for key, value in base if key != "cursor"]
    page_size = limit if limit is not None else DEFAULT_LIMIT
    pages: list[list[dict[str, Any]]] = []
    cursor = starts_at[-1] if starts_at else None
    for _ in range(max_pages):
        query = base + ([("cursor", cursor)] if cursor is not None else [])
        page = first_page(client, url, query, limit=limit)
        pages.append(page["items"])
        assert len(page["items"]) <= page_size
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        # next_cursor is set only when another row follows, so this page is full.
        assert len(page["items"]) == page_size, "a page with a next_cursor must be full"
    raise AssertionError(f"more than {max_pages} pages of {url}")


def walk(
    client: httpx.Client,
    url: str,
    params: Params = None,
    *,
    limit: int | None = None,
    max_pages: int = 200,
) -> list[dict[str, Any]]:
    """Every item of a list, in order (see `walk_pages`)."""
    pages = walk_pages(client, url, params, limit=limit, max_pages=max_pages)
    return [item for page in pages for item in page]


def ids(items: Iterable[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def activity(client: httpx.Client, project: Any) -> list[dict[str, Any]]:
    """The whole activity of a project, newest first."""
    return walk(client, activity_url(project), limit=100)
