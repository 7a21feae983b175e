"""Small helpers shared by the behaviour tests (black-box: HTTP only, no implementation code)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
import pytest

from support.problems import assert_problem

API = "/api/v1"

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


def unique(prefix: str = "t") -> str:
    """A short name no other test (or earlier run on the same database) uses."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def random_id() -> str:
    return str(uuid.uuid4())


def summary(account: Any) -> dict[str, str]:
    """The UserSummary the API embeds for an Account."""
    return {"id": account.id, "email": account.email, "display_name": account.display_name}


def assert_timestamp(value: str) -> None:
    assert isinstance(value, str) and TIMESTAMP.fullmatch(value), f"not a wire timestamp: {value!r}"


def problem_json(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem body of `response`, after checking status, media type, type and title."""
    body = assert_problem(response, status)
    if status != 422:
        assert "errors" not in body, body
    return body


def errors_of(response: httpx.Response) -> set[tuple[tuple[Any, ...], str]]:
    body = problem_json(response, 422)
    return {(tuple(error["loc"]), error["type"]) for error in body["errors"]}


def assert_errors(response: httpx.Response, *expected: tuple[tuple[Any, ...], str]) -> None:
    """A 422 whose errors are exactly `expected` as a set of (loc, type)."""
    got = errors_of(response)
    assert got == set(expected), (
        f"422 errors {sorted(map(str, got))} != {sorted(map(str, expected))}"
    )


def assert_status(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} → {response.status_code}, "
        f"expected {status}: {response.text[:2000]}"
    )


def assert_unauthorized(response: httpx.Response) -> None:
    problem_json(response, 401)
    assert response.headers.get("www-authenticate", "").split(" ")[0].lower() == "bearer"


def etag(version: int) -> str:
    return f'"{version}"'


def walk(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | list | None = None,
    *,
    limit: int | None = None,
    max_pages: int = 200,
) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor, checking the page contract.

    Every page but the last is exactly full (implementations fetch limit + 1 rows) and
    next_cursor is null exactly on the last page.
    """
    items, pages = [], walk_pages(client, url, params, limit=limit, max_pages=max_pages)
    for page in pages:
        items.extend(page)
    return items


def walk_pages(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | list | None = None,
    *,
    limit: int | None = None,
    max_pages: int = 200,
) -> list[list[dict[str, Any]]]:
    base = _param_list(params)
    # A cursor among the params is where the walk starts; it is replaced page by page, never
    # sent twice (a repeated single-valued parameter is not part of the contract).
    starts_at = [value for key, value in base if key == "cursor"]
    base = [(key, value) for key, value in base if key != "cursor"]
    if limit is not None:
        base.append(("limit", str(limit)))
    page_size = limit if limit is not None else 20
    pages: list[list[dict[str, Any]]] = []
    cursor = starts_at[-1] if starts_at else None
    for _ in range(max_pages):
        query = base + ([("cursor", cursor)] if cursor is not None else [])
        response = client.get(url, params=query)
        assert_status(response, 200)
        body = response.json()
        pages.append(body["items"])
        assert len(body["items"]) <= page_size
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # next_cursor is set only when another row follows, so this page is full.
        assert len(body["items"]) == page_size, "a page with a next_cursor must be full"
    else:
        raise AssertionError(f"more than {max_pages} pages of {url}")
    return pages


def first_page(
    client: httpx.Client,
    url: str,
    params: dict[str, Any] | list | None = None,
    *,
    limit: int | None = None,
) -> dict[str, Any]:
    query = _param_list(params)
    if limit is not None:
        query.append(("limit", str(limit)))
    response = client.get(url, params=query)
    assert_status(response, 200)
    return response.json()


def _param_list(params: dict[str, Any] | list | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, list):
        return [(k, str(v)) for k, v in params]
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            out.extend((key, str(v)) for v in value)
        elif value is not None:
            out.append((key, str(value)))
    return out


def ids(items: Iterable[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def activity(client: httpx.Client, project_id: str) -> list[dict[str, Any]]:
    """The whole activity of a project, newest first."""
    return walk(client, f"{API}/projects/{project_id}/activity", limit=100)


def get_json(client: httpx.Client, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert_status(response, status)
    return response.json()


def task_url(task: dict[str, Any] | str) -> str:
    return f"{API}/tasks/{task if isinstance(task, str) else task['id']}"


def project_url(project: dict[str, Any] | str) -> str:
    return f"{API}/projects/{project if isinstance(project, str) else project['id']}"


def comment_url(comment: dict[str, Any] | str) -> str:
    return f"{API}/comments/{comment if isinstance(comment, str) else comment['id']}"


# ------------------------------------------------------------------------- pooled users
#
# Creating a user costs two argon2 operations (hash, then login). Role matrices need five or six
# users per test, so they borrow identities from a per-server pool instead. Pooled users are
# only ever used as members of projects the test creates itself (or as outsiders to them); a
# test that asserts on a user's own data (their project list, their profile) makes a fresh one.

_POOL: dict[tuple[str, bool], list[dict[str, Any]]] = {}
_TOKEN_REFRESH_SECONDS = 1200  # well inside the 1800 s token lifetime


class People:
    """Hands out pooled users; within one test every user handed out is a different one."""

    def __init__(self, server: Any, api: Any, admin: Any) -> None:
        self._server, self._api, self._admin = server, api, admin
        self._handed_out = {False: 0, True: 0}

    def get(self, count: int, *, is_admin: bool = False) -> list[Any]:
        from support.factories import Account, create_account, login

        pool = _POOL.setdefault((self._server.base_url, is_admin), [])
        start = self._handed_out[is_admin]
        self._handed_out[is_admin] = end = start + count
        while len(pool) < end:
            account = create_account(self._api, self._admin, is_admin=is_admin)
            pool.append({"account": account, "since": time.monotonic()})
        accounts = []
        for entry in pool[start:end]:
            cached = entry["account"]
            if time.monotonic() - entry["since"] > _TOKEN_REFRESH_SECONDS:
                cached.token = login(self._api, cached.email, cached.password)
                entry["since"] = time.monotonic()
            accounts.append(
                Account(
                    id=cached.id,
                    email=cached.email,
                    password=cached.password,
                    display_name=cached.display_name,
                    is_admin=cached.is_admin,
                    token=cached.token,
                    client=self._api.authed(cached.token),
                )
            )
        return accounts


@pytest.fixture
def people(server, api, admin) -> People:
    """Reusable identities (see above): `people.get(3)`, `people.get(1, is_admin=True)`.

    Each call hands out users not handed out before in the same test."""
    return People(server, api, admin)
