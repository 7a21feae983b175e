"""Assertions on RFC 9457 problem responses (SPEC §1)."""

from __future__ import annotations

import json

import httpx

from shared.problems import TITLES
from support.contract import trim

PROBLEM_MEDIA_TYPE = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict:
    """The response is a `status` problem: media type, `type`, `title`, `status`; returns it."""
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
    assert body.get("title") == TITLES[status], (
        f"title {body.get('title')!r}, expected {TITLES[status]!r}: {text}"
    )
    assert body.get("status") == status, f"status field {body.get('status')!r}: {text}"
    assert isinstance(body.get("detail"), str) and body["detail"], f"no detail: {text}"
    return body


def error_set(response: httpx.Response) -> set[tuple[tuple, str]]:
    """The 422 problem's errors as {(tuple(loc), type)} (their order is not significant)."""
    body = assert_problem(response, 422)
    return {(tuple(error["loc"]), error["type"]) for error in body["errors"]}
