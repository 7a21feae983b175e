"""Cross-cutting HTTP conventions (contract/openapi.yaml "Headers on every response", "CORS";
contract/DECISIONS.md "Errors" order of checks, "Operations"): request ids, security headers,
CORS, 404/405, the body limit (413), and 401 before validation. The 415/400 of a JSON body are
request validation (tests/test_validation.py); the token endpoint's 415 is in tests/test_auth.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from support.client import ContractClient
from support.contract import Contract, Operation
from support.factories import Account
from support.paths import expand
from support.problems import assert_problem, assert_unauthorized
from support.servers import CORS_ORIGIN

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}$"
)
FOREIGN_ORIGIN = "https://evil.example"
SOME_ID = "0b7e1f52-95c4-4b0e-9a53-3d1b6f0c2a11"
# contract/openapi.yaml "Wire format": request bodies over 1 MiB → 413 (the contract's number,
# not shared.problems.MAX_BODY_BYTES, the implementations' own).
ONE_MIB = 1024 * 1024
# Well-formed and unexpired, but signed with a key that is not the server's.
FORGED_TOKEN = jwt.encode(
    {"sub": SOME_ID, "iat": int(time.time()), "exp": int(time.time()) + 86400},
    "not-the-server-key-" + "x" * 40,
    algorithm="HS256",
)


@pytest.fixture
def user(make_user) -> Account:
    return make_user()


def _tokens(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


# ------------------------------------------------------------------ X-Request-ID


@pytest.mark.parametrize("request_id", ["abc", "Req-1.2_3", "x" * 128, "0" * 1])
def test_valid_request_id_is_echoed(api: ContractClient, user: Account, request_id: str) -> None:
    headers = {"X-Request-ID": request_id}
    assert api.get("/healthz", headers=headers).headers["x-request-id"] == request_id
    assert api.get("/api/v1/nope", headers=headers).headers["x-request-id"] == request_id
    assert user.client.get("/api/v1/me", headers=headers).headers["x-request-id"] == request_id


@pytest.mark.parametrize("request_id", ["x" * 129, "has space", "semi;colon", "ümlaut", "a/b", ""])
def test_invalid_request_id_is_replaced_by_a_uuid(api: ContractClient, request_id: str) -> None:
    response = api.get("/healthz", headers={"X-Request-ID": request_id.encode("utf-8")})
    echoed = response.headers["x-request-id"]
    assert echoed != request_id
    assert UUID_RE.match(echoed), echoed


def test_missing_request_id_gets_a_fresh_uuid(api: ContractClient) -> None:
    first = api.get("/healthz").headers["x-request-id"]
    second = api.get("/healthz").headers["x-request-id"]
    assert UUID_RE.match(first) and UUID_RE.match(second)
    assert first != second


# ------------------------------------------------------------------ security headers


def _assorted_responses(api: ContractClient, user: Account) -> Iterator[httpx.Response]:
    yield api.get("/healthz")
    yield api.get("/readyz")
    yield user.client.get("/api/v1/me")  # 200
    project = user.client.post("/api/v1/projects", json={"name": "Headers"})
    yield project  # 201
    yield user.client.get(
        f"/api/v1/projects/{project.json()['id']}",
        headers={"If-None-Match": project.headers["etag"]},
    )  # 304
    yield user.client.delete(f"/api/v1/projects/{project.json()['id']}")  # 204
    yield api.get("/api/v1/does-not-exist")  # 404
    yield api.put("/api/v1/me")  # 405
    yield api.get("/api/v1/me")  # 401
    yield user.client.get("/api/v1/projects", params={"limit": "0"})  # 422
    yield user.client.post(
        "/api/v1/projects", content=b"{", headers={"Content-Type": "application/json"}
    )  # 400
    yield user.client.post(
        "/api/v1/projects", content=b"x", headers={"Content-Type": "text/plain"}
    )  # 415
    yield api.get("/openapi.json")
    yield api.get("/docs")
    yield api.options(
        "/api/v1/projects", headers={"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST"}
    )


def test_every_response_carries_the_security_headers(api: ContractClient, user: Account) -> None:
    seen = set()
    for response in _assorted_responses(api, user):
        seen.add(response.status_code)
        where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
        assert response.headers.get_list("cache-control") == ["no-store"], where
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], where
        assert len(response.headers.get_list("x-request-id")) == 1, where
    assert {200, 201, 204, 304, 400, 401, 404, 405, 415, 422} <= seen


# ------------------------------------------------------------------ CORS


def test_cors_allowed_origin_on_a_simple_request(api: ContractClient, user: Account) -> None:
    project = user.client.post(
        "/api/v1/projects", json={"name": "CORS"}, headers={"Origin": CORS_ORIGIN}
    )
    for response in (
        project,
        api.get("/healthz", headers={"Origin": CORS_ORIGIN}),
        api.get("/api/v1/me", headers={"Origin": CORS_ORIGIN}),
    ):  # 401 too
        where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
        assert response.headers.get("access-control-allow-origin") == CORS_ORIGIN, where
        exposed = _tokens(response.headers.get("access-control-expose-headers"))
        assert {"etag", "location", "x-request-id"} <= exposed, (where, exposed)
        # No credentials: never `true` (a bearer token is not a cookie).
        assert response.headers.get("access-control-allow-credentials") != "true", where


ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
    "Last-Event-ID",  # contract 1.2: a browser EventSource sends it when it reconnects
)
EXPOSED_HEADERS = {"etag", "location", "x-request-id"}
MAX_AGE = "600"
CONTRACT = Contract.load()
# Every contract path, ids filled in (a preflight needs no token and no existing resource), with
# each of its methods: the path exists, which is all a preflight needs (DECISIONS "Operations").
PREFLIGHT_TARGETS = [
    (expand(operation.path, SOME_ID), operation.method) for operation in CONTRACT.operations()
]


def preflight(
    client: ContractClient, path: str, origin: str, method: str, headers: str | None = None
) -> httpx.Response:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=sent)


def assert_preflight_allowed(response: httpx.Response, method: str, headers: str = "") -> None:
    """204, no body, and the CORS headers that let the browser send `method` with `headers`."""
    where = f"preflight {method} {response.request.url.path}"
    assert response.status_code == 204, (where, response.status_code, response.text)
    assert response.content == b"", where
    assert response.headers.get("access-control-allow-origin") == CORS_ORIGIN, where
    assert method.lower() in _tokens(response.headers.get("access-control-allow-methods")), where
    allowed = _tokens(response.headers.get("access-control-allow-headers"))
    # `*` would not cover Authorization (Fetch standard), so the names must be listed.
    assert _tokens(headers) <= allowed, (where, allowed)
    assert response.headers.get("access-control-max-age") == MAX_AGE, where
    assert response.headers.get("access-control-allow-credentials") is None, where
    assert "origin" in _tokens(", ".join(response.headers.get_list("vary"))), where


def assert_preflight_refused(response: httpx.Response) -> None:
    """204, no body, and not one Access-Control-* header: the browser refuses the request on
    its own (DECISIONS "Operations"; a 4xx would tell a foreign page more than it needs)."""
    where = f"preflight {response.request.url.path} from {response.request.headers['origin']}"
    assert response.status_code == 204, (where, response.status_code, response.text)
    assert response.content == b"", where
    cors = sorted(name for name in response.headers if name.lower().startswith("access-control-"))
    assert not cors, (where, {name: response.headers[name] for name in cors})
    assert "origin" in _tokens(", ".join(response.headers.get_list("vary"))), where


@pytest.mark.parametrize(
    ("path", "method"), PREFLIGHT_TARGETS, ids=[f"{m} {p}" for p, m in PREFLIGHT_TARGETS]
)
def test_cors_preflight_on_every_contract_path(api: ContractClient, path: str, method: str) -> None:
    response = preflight(api, path, CORS_ORIGIN, method, "Authorization, Content-Type")
    assert_preflight_allowed(response, method, "Authorization, Content-Type")


@pytest.mark.parametrize(
    "headers",
    [
        "Authorization, If-Match, Content-Type",
        ", ".join(ALLOWED_HEADERS),
        ",".join(name.lower() for name in ALLOWED_HEADERS),  # names are case-insensitive
        "x-request-id",
        None,
    ],
    ids=["three", "all", "lower-case", "request-id", "none"],
)
def test_cors_preflight_from_an_allowed_origin(api: ContractClient, headers: str | None) -> None:
    response = preflight(api, f"/api/v1/tasks/{SOME_ID}", CORS_ORIGIN, "PATCH", headers)
    assert_preflight_allowed(response, "PATCH", headers or "")


@pytest.mark.parametrize("method", ALLOWED_METHODS)
def test_cors_preflight_allows_every_contract_method(api: ContractClient, method: str) -> None:
    response = preflight(api, "/api/v1/projects", CORS_ORIGIN, method)
    assert_preflight_allowed(response, method)
    listed = {m.upper() for m in _tokens(response.headers.get("access-control-allow-methods"))}
    assert listed == set(ALLOWED_METHODS), listed


@pytest.mark.parametrize(
    "origin",
    [
        FOREIGN_ORIGIN,
        "null",  # a sandboxed page or a file:// document
        "http://allowed.example",  # another scheme is another origin
        "https://allowed.example:8443",  # and another port
        "https://allowed.example.evil.example",  # a prefix is not the origin
        "https://sub.allowed.example",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/projects", f"/api/v1/tasks/{SOME_ID}", "/healthz"])
def test_cors_preflight_from_a_foreign_origin_is_204_without_cors_headers(
    api: ContractClient, origin: str, path: str
) -> None:
    assert_preflight_refused(preflight(api, path, origin, "POST", "Authorization"))


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("TRACE", None),
        ("PURGE", "Authorization"),
        ("PATCH", "X-Custom"),
        ("PATCH", "Authorization, X-Custom"),  # one header not allowed is enough
        ("POST", "Cookie"),
    ],
    ids=["trace", "purge", "unknown-header", "one-unknown-header", "cookie"],
)
def test_cors_preflight_for_a_method_or_header_not_allowed_is_204_without_cors_headers(
    api: ContractClient, method: str, headers: str | None
) -> None:
    response = preflight(api, f"/api/v1/tasks/{SOME_ID}", CORS_ORIGIN, method, headers)
    assert_preflight_refused(response)


def test_cors_preflight_on_an_unknown_path_is_the_routers_404(api: ContractClient) -> None:
    for path in ("/api/v1/nope", "/api/v1/projects/", f"/api/v1/tasks/{SOME_ID}/nope"):
        response = preflight(api, path, CORS_ORIGIN, "GET")
        assert_problem(response, 404)


def test_options_that_is_not_a_preflight_is_a_405(api: ContractClient) -> None:
    """OPTIONS is no contract method: without `Access-Control-Request-Method` (or without an
    `Origin`) it is not a preflight, and gets the 405 of any other method (DECISIONS "Errors")."""
    for headers in ({}, {"Origin": CORS_ORIGIN}, {"Access-Control-Request-Method": "GET"}):
        response = api.options("/api/v1/projects", headers=headers)
        assert_problem(response, 405)
        assert {"GET", "POST"} <= {m.upper() for m in _tokens(response.headers.get("allow"))}


def test_cors_foreign_origin_gets_no_allow_origin(api: ContractClient, user: Account) -> None:
    simple = user.client.get("/api/v1/me", headers={"Origin": FOREIGN_ORIGIN})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert "origin" in _tokens(", ".join(simple.headers.get_list("vary")))


# ------------------------------------------------------------------ 404 / 405


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/nope",
        "/api/v2/projects",
        "/api/v1/projects/",
        "/api/v1/me/",
        "/api/v1/tasks",
        f"/api/v1/tasks/{SOME_ID}/nope",
        "/api/v1/comments",
    ],
)
def test_unknown_path_is_a_404_problem(api: ContractClient, user: Account, path: str) -> None:
    assert_problem(api.get(path), 404)  # before authentication
    assert_problem(user.client.get(path), 404)
    assert_problem(user.client.post(path, json={}), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/projects", {"GET", "POST"}),
        ("DELETE", "/api/v1/me", {"GET"}),
        ("POST", "/healthz", {"GET"}),
        ("GET", "/api/v1/auth/token", {"POST"}),
        ("POST", f"/api/v1/tasks/{SOME_ID}", {"GET", "PATCH", "DELETE"}),
        ("GET", f"/api/v1/comments/{SOME_ID}", {"PATCH", "DELETE"}),
        ("PATCH", f"/api/v1/projects/{SOME_ID}/members/{SOME_ID}", {"PUT", "DELETE"}),
    ],
)
def test_wrong_method_is_a_405_with_allow(
    api: ContractClient, user: Account, method: str, path: str, allowed: set[str]
) -> None:
    for client in (api, user.client):  # 405 comes before authentication
        response = client.request(method, path)
        assert_problem(response, 405)
        listed = {m.upper() for m in _tokens(response.headers.get("allow"))}
        assert allowed <= listed, (response.headers.get("allow"), allowed)
        assert method not in listed


def test_allow_is_sent_on_405_only(api: ContractClient, user: Account) -> None:
    """Contract 1.1 ("Headers"): `Allow` on 405 responses only (the validating client checks
    every response the suite gets; this names the rule on an assortment of statuses)."""
    seen = set()
    for response in _assorted_responses(api, user):
        seen.add(response.status_code)
        where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
        if response.status_code == 405:
            assert response.headers.get("allow"), where
        else:
            assert "allow" not in response.headers, (where, response.headers.get("allow"))
    assert {200, 201, 204, 304, 400, 401, 404, 405, 415, 422} <= seen


# ------------------------------------------------------------------ 413


def _json_body_of(size: int) -> bytes:
    """A valid createProject body of exactly `size` bytes (the description is too long)."""
    skeleton = json.dumps({"name": "big", "description": ""}).encode()
    body = json.dumps({"name": "big", "description": "d" * (size - len(skeleton))}).encode()
    assert len(body) == size
    return body


def _media_type_of(operation: Operation) -> str:
    """The request media type the operation documents (application/json when it has no body:
    413 comes before 415, so a GET or DELETE with a body is refused for its size alone)."""
    body = CONTRACT.document["paths"][operation.path][operation.method.lower()].get("requestBody")
    return next(iter(body["content"])) if body else "application/json"


@pytest.mark.parametrize(
    ("anonymous", "transfer"),
    [(True, "content-length"), (False, "content-length"), (False, "chunked")],
    ids=["anonymous", "authenticated", "authenticated-chunked"],
)
@pytest.mark.parametrize("operation", CONTRACT.operations(), ids=str)
def test_body_over_one_mib_is_413_on_every_operation(
    api: ContractClient, make_user, operation: Operation, anonymous: bool, transfer: str
) -> None:
    """Contract 1.1: 413 is documented on every operation — bodiless GETs and DELETEs too,
    whatever their path parameters name (ids that exist nowhere: 413 comes before 404) — and
    before authentication (DECISIONS "Errors": 413 is check 2, 401 check 3). Declared by
    Content-Length, or counted while a chunked body is read."""
    client = api if anonymous else make_user().client
    path = expand(operation.path, SOME_ID)
    body = _json_body_of(ONE_MIB + 1)
    response = client.request(
        operation.method,
        path,
        content=_chunks(body) if transfer == "chunked" else body,
        headers={"Content-Type": _media_type_of(operation)},
    )
    assert ("content-length" in response.request.headers) == (transfer == "content-length")
    assert_problem(response, 413)


def _chunks(body: bytes) -> Iterator[bytes]:
    """The body as a stream: sent chunked, without Content-Length, so it is counted while read."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def test_chunked_body_under_the_limit_is_read(api: ContractClient, user: Account) -> None:
    body = json.dumps({"name": "sent in chunks", "description": "d" * 200_000}).encode()
    headers = {"Content-Type": "application/json"}
    response = user.client.post("/api/v1/projects", content=_chunks(body), headers=headers)
    assert response.status_code == 422  # the description (> 2000) was read and validated
    body = json.dumps({"name": "sent in chunks"}).encode()
    response = user.client.post("/api/v1/projects", content=_chunks(body), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "sent in chunks"
    assert_problem(api.post("/api/v1/projects", content=_chunks(body), headers=headers), 401)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_unknown_path_and_wrong_method_come_before_413(
    api: ContractClient, user: Account, chunked: bool
) -> None:
    """DECISIONS order of checks: 404/405 (1) before the body limit (2)."""
    body = _json_body_of(ONE_MIB + 1)
    headers = {"Content-Type": "application/json"}
    for client in (api, user.client):
        response = client.post(
            "/api/v1/nope", content=_chunks(body) if chunked else body, headers=headers
        )
        assert_problem(response, 404)
        response = client.put(
            "/api/v1/projects", content=_chunks(body) if chunked else body, headers=headers
        )
        assert_problem(response, 405)
        assert {"GET", "POST"} <= {m.upper() for m in _tokens(response.headers.get("allow"))}


def test_body_just_under_one_mib_is_validated_not_refused(user: Account) -> None:
    body = _json_body_of(ONE_MIB - 1024)
    response = user.client.post(
        "/api/v1/projects", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422)  # description > 2000 characters, not 413
    assert (["body", "description"], "string_too_long") in [
        (e["loc"], e["type"]) for e in response.json()["errors"]
    ]


# ------------------------------------------------------------------ 401 before validation


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/v1/projects", {"json": {"name": 5, "bogus": True}}),
        (
            "POST",
            "/api/v1/projects",
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", "/api/v1/projects", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
        ("GET", "/api/v1/tasks/not-a-uuid", {}),
        ("GET", "/api/v1/projects", {"params": {"limit": "0", "cursor": "garbage"}}),
        ("PATCH", f"/api/v1/tasks/{SOME_ID}", {"json": {"status": "nope"}}),
        ("DELETE", "/api/v1/comments/42", {}),
    ],
)
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param(f"Bearer {FORGED_TOKEN}", id="forged", marks=pytest.mark.smoke),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
        pytest.param("Bearer", id="scheme-only"),
    ],
)
def test_authentication_comes_before_validation(
    api: ContractClient, method: str, path: str, kwargs: dict, authorization: str | None
) -> None:
    # `kwargs` is shared by every `authorization` case: read it, never pop from it (popping
    # sent the later cases without their Content-Type).
    headers = {**kwargs.get("headers", {})}
    if authorization is not None:
        headers["Authorization"] = authorization
    rest = {key: value for key, value in kwargs.items() if key != "headers"}
    response = api.request(method, path, headers=headers, **rest)
    sent = kwargs.get("headers", {}).get("Content-Type")
    if sent is not None:
        assert response.request.headers.get("content-type") == sent
    assert_unauthorized(response)
