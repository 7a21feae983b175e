"""Assertions on error answers: RFC 9457 problems as contract/DECISIONS.md ("Errors") shapes
them, the 422 error list, and the 401 challenge."""

from __future__ import annotations

import json
from typing import Any

import httpx

from support.contract import PROBLEM_MEDIA_TYPE, REASON_PHRASES, trim

Error = tuple[tuple[Any, ...], str]  # (loc, type) of one 422 error


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a `status` problem — media type, `type`, the contract's `title`, `status`,
    a `detail`, and `errors` on 422 only; returns its body."""
    text = trim(response.text)
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: expected {status}, "
        f"got {response.status_code}: {text}"
    )
    content_type = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
    assert content_type == PROBLEM_MEDIA_TYPE, (
        f"expected {PROBLEM_MEDIA_TYPE}, got {response.headers.get('content-type')!r}: {text}"
    )
    try:
        body = response.json()
    except json.JSONDecodeError:
        raise AssertionError(f"problem body is not JSON: {text}") from None
    assert body.get("type") == "about:blank", f"type {body.get('type')!r}: {text}"
    assert status in REASON_PHRASES, f"the contract has no problem title for {status}"
    assert body.get("title") == REASON_PHRASES[status], (
        f"title {body.get('title')!r}, expected {REASON_PHRASES[status]!r}: {text}"
    )
    assert body.get("status") == status, f"status field {body.get('status')!r}: {text}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"no detail: {text}"
    if status == 422:
        assert isinstance(body.get("errors"), list) and body["errors"], f"no errors: {text}"
    else:
        assert "errors" not in body, f"`errors` on a {status}: {text}"
    return body


def error_set(response: httpx.Response) -> set[Error]:
    """The 422 problem's errors as {(tuple(loc), type)} (their order is not significant)."""
    body = assert_problem(response, 422)
    return {(tuple(error["loc"]), error["type"]) for error in body["errors"]}


def assert_errors(response: httpx.Response, *expected: Error) -> None:
    """A 422 whose errors are exactly `expected` as a set of (loc, type)."""
    got = error_set(response)
    assert got == set(expected), (
        f"422 errors {sorted(map(str, got))} != {sorted(map(str, expected))}"
    )


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    """A 401 problem that challenges for a bearer token (DECISIONS "Auth")."""
    body = assert_problem(response, 401)
    scheme = response.headers.get("www-authenticate", "").split(" ")[0]
    assert scheme.lower() == "bearer", f"WWW-Authenticate {scheme!r}"
    return body
