"""The automatic response validation catches what it claims to catch (no server: the responses
come from an httpx.MockTransport). A validator that cannot fail would make the whole suite lie."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support.client import ContractClient, ContractViolation
from support.contract import Contract

COMMON = {"X-Request-ID": "abc", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
UUID = "3f1c2b9e-8a4d-4c1e-9b7a-2d5e6f708192"
USER = {
    "id": UUID,
    "email": "ada@example.com",
    "display_name": "Ada",
    "is_admin": True,
    "created_at": "2026-11-20T08:00:00.000000Z",
}
SUMMARY = {"id": UUID, "email": "ada@example.com", "display_name": "Ada"}
PROJECT = {
    "id": UUID,
    "name": "P",
    "description": "",
    "created_at": "2026-11-20T08:00:00.000000Z",
    "updated_at": "2026-11-20T08:00:00.000000Z",
    "version": 1,
    "my_role": "owner",
    "task_counts": {"todo": 0, "in_progress": 0, "done": 0},
}
TASK = {
    "id": UUID,
    "project_id": UUID,
    "title": "T",
    "description": "",
    "status": "todo",
    "priority": "medium",
    "assignee": None,
    "labels": [],
    "due_date": None,
    "created_by": SUMMARY,
    "created_at": "2026-11-20T08:00:00.000000Z",
    "updated_at": "2026-11-20T08:00:00.000000Z",
    "version": 1,
    "comment_count": 0,
}
# A well-formed ETag (contract 1.1: 32 lower-case hex digits in quotes); the validator checks the
# header's form, the behaviour tests check that it is the hash of the body.
ETAG = '"' + "0123456789abcdef" * 2 + '"'


def problem(status: int, title: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": "x.", **extra}


def reply(
    status: int,
    body: Any = None,
    *,
    media: str = "application/json",
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    raw: bytes | None = None,
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        all_headers = {k: v for k, v in {**COMMON, **(headers or {})}.items() if k not in drop}
        content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        if content:
            all_headers["Content-Type"] = media
        return httpx.Response(status, headers=all_headers, content=content)

    return httpx.MockTransport(handler)


def call(transport: httpx.MockTransport, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with ContractClient(
        "http://testserver", contract=Contract.load(), transport=transport
    ) as client:
        return client.request(method, path, **kwargs)


CONFORMING = [
    ("GET", "/healthz", reply(200, {"status": "ok"})),
    ("GET", "/api/v1/me", reply(200, USER)),
    (
        "GET",
        "/api/v1/me",
        reply(
            401,
            problem(401, "Unauthorized"),
            media="application/problem+json",
            headers={"WWW-Authenticate": "Bearer"},
        ),
    ),
    ("GET", f"/api/v1/tasks/{UUID}", reply(200, TASK, headers={"ETag": ETAG})),
    ("GET", f"/api/v1/tasks/{UUID}", reply(304, headers={"ETag": ETAG})),
    ("DELETE", f"/api/v1/tasks/{UUID}", reply(204)),
    (
        "POST",
        "/api/v1/projects",
        reply(201, PROJECT, headers={"Location": f"/api/v1/projects/{UUID}", "ETag": ETAG}),
    ),
    ("GET", "/nope", reply(404, problem(404, "Not Found"), media="application/problem+json")),
    (
        "PUT",
        "/api/v1/projects",
        reply(
            405,
            problem(405, "Method Not Allowed"),
            media="application/problem+json",
            headers={"Allow": "GET, POST"},
        ),
    ),
    (
        "GET",
        "/api/v1/projects/x",
        reply(
            422,
            problem(
                422,
                "Unprocessable Content",
                errors=[{"loc": ["path", "project_id"], "type": "uuid_parsing", "msg": "bad"}],
            ),
            media="application/problem+json",
        ),
    ),
    ("OPTIONS", "/api/v1/projects", reply(204)),
    (
        "OPTIONS",
        "/api/v1/projects",
        reply(
            405,
            problem(405, "Method Not Allowed"),
            media="application/problem+json",
            headers={"Allow": "GET, POST"},
        ),
    ),
    ("GET", "/docs", reply(200, raw=b"<html></html>", media="text/html; charset=utf-8")),
    ("GET", "/docs/assets/swagger-ui.css", reply(200, raw=b"body{}", media="text/css")),
    (
        "GET",
        "/docs/assets/nope.js",
        reply(404, problem(404, "Not Found"), media="application/problem+json"),
    ),
]

VIOLATING = {
    "no X-Request-ID": ("GET", "/healthz", reply(200, {"status": "ok"}, drop=("X-Request-ID",))),
    "no Cache-Control": ("GET", "/healthz", reply(200, {"status": "ok"}, drop=("Cache-Control",))),
    "no nosniff": (
        "GET",
        "/nope",
        reply(
            404,
            problem(404, "Not Found"),
            media="application/problem+json",
            drop=("X-Content-Type-Options",),
        ),
    ),
    "timestamp without microseconds": (
        "GET",
        "/api/v1/me",
        reply(200, {**USER, "created_at": "2026-11-20T08:00:00Z"}),
    ),
    "timestamp with an offset": (
        "GET",
        "/api/v1/me",
        reply(200, {**USER, "created_at": "2026-11-20T08:00:00.000000+00:00"}),
    ),
    "upper-case uuid": ("GET", "/api/v1/me", reply(200, {**USER, "id": UUID.upper()})),
    "impossible date": (
        "GET",
        f"/api/v1/tasks/{UUID}",
        reply(200, {**TASK, "due_date": "2026-02-30"}, headers={"ETag": ETAG}),
    ),
    "missing field": (
        "GET",
        "/api/v1/me",
        reply(200, {k: v for k, v in USER.items() if k != "is_admin"}),
    ),
    "undocumented status": (
        "GET",
        "/api/v1/me",
        reply(403, problem(403, "Forbidden"), media="application/problem+json"),
    ),
    "wrong media type": ("GET", "/api/v1/me", reply(200, USER, media="text/plain")),
    "problem as plain json": (
        "GET",
        "/api/v1/me",
        reply(401, problem(401, "Unauthorized"), headers={"WWW-Authenticate": "Bearer"}),
    ),
    "missing WWW-Authenticate": (
        "GET",
        "/api/v1/me",
        reply(401, problem(401, "Unauthorized"), media="application/problem+json"),
    ),
    "wrong problem title": (
        "GET",
        f"/api/v1/users/{UUID}",
        reply(404, problem(404, "Not found"), media="application/problem+json"),
    ),
    "problem status mismatch": (
        "GET",
        f"/api/v1/users/{UUID}",
        reply(404, problem(400, "Bad Request"), media="application/problem+json"),
    ),
    "errors outside 422": (
        "GET",
        f"/api/v1/users/{UUID}",
        reply(404, problem(404, "Not Found", errors=[]), media="application/problem+json"),
    ),
    "missing ETag": ("GET", f"/api/v1/tasks/{UUID}", reply(200, TASK)),
    "weak ETag": ("GET", f"/api/v1/tasks/{UUID}", reply(200, TASK, headers={"ETag": f"W/{ETAG}"})),
    "1.0 version ETag": ("GET", f"/api/v1/tasks/{UUID}", reply(200, TASK, headers={"ETag": '"1"'})),
    "upper-case ETag": (
        "GET",
        f"/api/v1/tasks/{UUID}",
        reply(200, TASK, headers={"ETag": ETAG.upper()}),
    ),
    "unquoted ETag": (
        "GET",
        f"/api/v1/tasks/{UUID}",
        reply(200, TASK, headers={"ETag": ETAG[1:-1]}),
    ),
    "missing Location": ("POST", "/api/v1/projects", reply(201, PROJECT, headers={"ETag": ETAG})),
    "304 with a body": ("GET", f"/api/v1/tasks/{UUID}", reply(304, TASK, headers={"ETag": ETAG})),
    "204 with a body": ("DELETE", f"/api/v1/tasks/{UUID}", reply(204, {"ok": True})),
    "unknown path not 404": ("GET", "/nope", reply(200, {"status": "ok"})),
    "trailing-slash redirect": (
        "GET",
        "/api/v1/projects/",
        reply(307, headers={"Location": "/api/v1/projects"}),
    ),
    "405 without Allow": (
        "PUT",
        "/api/v1/projects",
        reply(405, problem(405, "Method Not Allowed"), media="application/problem+json"),
    ),
    "405 with an incomplete Allow": (
        "PUT",
        "/api/v1/projects",
        reply(
            405,
            problem(405, "Method Not Allowed"),
            media="application/problem+json",
            headers={"Allow": "GET"},
        ),
    ),
    "unknown error type": (
        "GET",
        "/api/v1/projects/x",
        reply(
            422,
            problem(
                422,
                "Unprocessable Content",
                errors=[{"loc": ["path", "project_id"], "type": "value_error", "msg": "bad"}],
            ),
            media="application/problem+json",
        ),
    ),
    "not JSON": ("GET", "/healthz", reply(200, raw=b"ok")),
    "Allow on a 200": ("GET", "/api/v1/me", reply(200, USER, headers={"Allow": "GET"})),
    "Allow on a 404": (
        "GET",
        "/nope",
        reply(
            404,
            problem(404, "Not Found"),
            media="application/problem+json",
            headers={"Allow": "GET"},
        ),
    ),
    "preflight answered 200": ("OPTIONS", "/api/v1/projects", reply(200)),
    "preflight with a body": ("OPTIONS", "/api/v1/projects", reply(204, raw=b"OK")),
    "preflight refused with 400": (
        "OPTIONS",
        "/api/v1/projects",
        reply(400, problem(400, "Bad Request"), media="application/problem+json"),
    ),
    "preflight on an unknown path answered": ("OPTIONS", "/api/v1/nope", reply(204)),
    "docs asset not found as HTML": (
        "GET",
        "/docs/assets/nope.js",
        reply(404, raw=b"<h1>Not Found</h1>", media="text/html"),
    ),
    "docs asset empty": ("GET", "/docs/assets/swagger-ui.css", reply(200)),
    "docs asset without nosniff": (
        "GET",
        "/docs/assets/swagger-ui.css",
        reply(200, raw=b"body{}", media="text/css", drop=("X-Content-Type-Options",)),
    ),
}


@pytest.mark.parametrize(
    ("method", "path", "transport"), CONFORMING, ids=[f"{m} {p}" for m, p, _ in CONFORMING]
)
def test_conforming_response_passes(method: str, path: str, transport: httpx.MockTransport) -> None:
    call(transport, method, path)


@pytest.mark.parametrize("case", list(VIOLATING))
def test_violation_is_caught(case: str) -> None:
    method, path, transport = VIOLATING[case]
    with pytest.raises(ContractViolation) as caught:
        call(transport, method, path)
    message = str(caught.value)
    assert "violates the contract" in message and path in message


# ------------------------------------------------------------------ the live part (contract 1.2)

EVENTS_PATH = f"/api/v1/projects/{UUID}/events"
ASSISTANT_PATH = f"/api/v1/projects/{UUID}/assistant"
SSE = "text/event-stream; charset=utf-8"
STREAM_HEADERS = {"X-Accel-Buffering": "no"}
NOTIFICATION = {
    "id": UUID,
    "kind": "task.assigned",
    "task_id": UUID,
    "project_id": UUID,
    "actor": SUMMARY,
    "read": False,
    "created_at": "2026-11-20T08:00:00.000000Z",
}
ANSWER = {"answer": "a", "model": "m", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}

LIVE_CONFORMING = {
    "events": (
        "GET",
        EVENTS_PATH,
        reply(200, raw=b": ping\n\n", media=SSE, headers=STREAM_HEADERS),
    ),
    "events full": (
        "GET",
        EVENTS_PATH,
        reply(
            503,
            problem(503, "Service Unavailable"),
            media="application/problem+json",
            headers={"Retry-After": "5"},
        ),
    ),
    "notifications": (
        "GET",
        "/api/v1/me/notifications",
        reply(200, {"items": [NOTIFICATION], "next_cursor": None}),
    ),
    "mark read": ("POST", f"/api/v1/me/notifications/{UUID}/read", reply(204)),
    "answer as JSON": ("POST", ASSISTANT_PATH, reply(200, ANSWER)),
    "answer as a stream": (
        "POST",
        ASSISTANT_PATH,
        reply(
            200,
            raw=b'event: token\ndata: {"text":"a"}\n\nevent: done\ndata: {}\n\n',
            media=SSE,
            headers=STREAM_HEADERS,
        ),
    ),
    "assistant not configured": (
        "POST",
        ASSISTANT_PATH,
        reply(503, problem(503, "Service Unavailable"), media="application/problem+json"),
    ),
    "bad gateway": (
        "POST",
        ASSISTANT_PATH,
        reply(502, problem(502, "Bad Gateway"), media="application/problem+json"),
    ),
    "gateway timeout": (
        "POST",
        ASSISTANT_PATH,
        reply(504, problem(504, "Gateway Timeout"), media="application/problem+json"),
    ),
}
LIVE_VIOLATING = {
    "events without X-Accel-Buffering": (
        "GET",
        EVENTS_PATH,
        reply(200, raw=b": ping\n\n", media=SSE),
    ),
    "events as JSON": ("GET", EVENTS_PATH, reply(200, [], headers=STREAM_HEADERS)),
    "events full without Retry-After": (
        "GET",
        EVENTS_PATH,
        reply(503, problem(503, "Service Unavailable"), media="application/problem+json"),
    ),
    "notification without read": (
        "GET",
        "/api/v1/me/notifications",
        reply(200, {"items": [{**NOTIFICATION, "read": None}], "next_cursor": None}),
    ),
    "unknown notification kind": (
        "GET",
        "/api/v1/me/notifications",
        reply(200, {"items": [{**NOTIFICATION, "kind": "task.created"}], "next_cursor": None}),
    ),
    "bad gateway titled otherwise": (
        "POST",
        ASSISTANT_PATH,
        reply(502, problem(502, "Upstream Error"), media="application/problem+json"),
    ),
    "answer without usage": ("POST", ASSISTANT_PATH, reply(200, {"answer": "a", "model": "m"})),
}


@pytest.mark.parametrize("case", list(LIVE_CONFORMING))
def test_conforming_live_response_passes(case: str) -> None:
    method, path, transport = LIVE_CONFORMING[case]
    call(transport, method, path)


@pytest.mark.parametrize("case", list(LIVE_VIOLATING))
def test_live_violation_is_caught(case: str) -> None:
    method, path, transport = LIVE_VIOLATING[case]
    with pytest.raises(ContractViolation, match="violates the contract"):
        call(transport, method, path)


class _Endless(httpx.SyncByteStream):
    """An event stream that never ends: a heartbeat every 50 ms, as a live server would."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            yield b": ping\n\n"
            time.sleep(0.05)

    def close(self) -> None:
        self.closed = True


def test_an_endless_stream_read_whole_fails_instead_of_hanging() -> None:
    streams: list[_Endless] = []

    def handler(request: httpx.Request) -> httpx.Response:
        streams.append(_Endless())
        headers = {**COMMON, **STREAM_HEADERS, "Content-Type": SSE}
        return httpx.Response(200, headers=headers, stream=streams[-1])

    transport = httpx.MockTransport(handler)
    started = time.monotonic()
    with ContractClient(
        "http://testserver", contract=Contract.load(), transport=transport, timeout=0.5
    ) as client:
        with pytest.raises(AssertionError, match=r"still open after 0\.5 s: read it with"):
            client.get(EVENTS_PATH)
        assert time.monotonic() - started < 5
        assert streams[0].closed
        with client.stream("GET", EVENTS_PATH) as response:  # the way to read it
            assert response.status_code == 200
            assert next(response.iter_text()) == ": ping\n\n"
