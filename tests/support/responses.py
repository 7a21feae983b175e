"""Successful answers: the status a test expects and the JSON body that comes with it.

Errors are asserted with `support.problems` (a problem body is more than a status)."""

from __future__ import annotations

from typing import Any

import httpx

from support.contract import trim


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The JSON body of a response that must have one of `statuses` (None when it has no body:
    204, 304)."""
    assert statuses and all(status < 400 for status in statuses), (
        "expect() is for successful answers; assert errors with support.problems"
    )
    assert response.status_code in statuses, (
        f"{response.request.method} {response.request.url}: expected "
        f"{' or '.join(map(str, statuses))}, got {response.status_code}: {trim(response.text)}"
    )
    return response.json() if response.content else None


def get_json(client: httpx.Client, url: str, params: Any = None) -> Any:
    """GET `url`, which must answer 200; its JSON body."""
    return expect(client.get(url, params=params), 200)
