"""Hostile input (contract 1.1: SPEC section 11 "Text and numbers that PostgreSQL or a careful
parser refuses"; contract/DECISIONS.md "Errors" checks 5–6 and "Validation error types"), on
every operation class — JSON body, query, path, the sign-in form:

- U+0000 in a string → 422 `invalid_characters` at that field's loc, instead of any other error
  for that loc, the other fields validated as usual; in a body key → `extra_forbidden`; in the
  sign-in credentials → 401; without a token → 401 first. Never a 500, never a row written.
- An unpaired surrogate escape, or nesting deeper than 32 levels → 400; 401 first.
- Patterns match the whole string: a trailing newline fails every patterned field (the list is
  read from contract/openapi.yaml, so a new pattern is covered by the day it is added).
- Integers in query and path: ASCII digits with an optional `-`, nothing else; booleans in
  query: exactly `true` or `false`.
- UUIDs in path, query and body: the 8-4-4-4-12 form only (either case).
- Work before authentication is bounded: a 1 MiB form, 10,000 query parameters, a 1 MiB JSON
  body are answered within BOUND_SECONDS, and the server answers the next request.

Expected values are spelled out from the contract here, never taken from shared/.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from support.client import ContractClient
from support.contract import Contract, Operation
from support.factories import Account, unique
from support.paths import TOKEN_URL, expand
from support.problems import assert_errors, assert_problem, assert_unauthorized, error_set
from support.responses import expect, get_json

CONTRACT = Contract.load()
NUL = "\x00"
ONE_MIB = 1024 * 1024  # the contract's body limit ("Request bodies over 1 MiB → 413")
MAX_DEPTH = 32  # DECISIONS "Errors" check 5: the body itself is level 1
# SPEC 11: "answered in well under a second". A generous bound for a shared, loaded 2-core
# machine that still tells linear work from quadratic (which takes minutes at these sizes).
BOUND_SECONDS = 5.0
# How long the suite waits for an answer before calling the work unbounded.
GIVE_UP_SECONDS = 60.0
FORGED = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@contextmanager
def case(label: str) -> Iterator[None]:
    """Name the variant a failure is about (one test walks several)."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"[{label}] {exc}") from None


# ------------------------------------------------------------------ what the contract documents


def _deref(node: Any) -> Any:
    return CONTRACT.deref(node, "")[0]


def _operation_object(operation: Operation) -> dict[str, Any]:
    return CONTRACT.document["paths"][operation.path][operation.method.lower()]


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    return [_deref(p) for p in _operation_object(operation).get("parameters", [])]


def _body_schema(operation: Operation) -> tuple[str, dict[str, Any]] | None:
    """(media type, resolved schema) of the operation's request body, or None."""
    body = _operation_object(operation).get("requestBody")
    if body is None:
        return None
    media, content = next(iter(_deref(body)["content"].items()))
    return media, _deref(content["schema"])


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _string_fields(schema: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict]]:
    """(loc below "body", string schema) of every string a body may carry — list items at
    index 0."""
    for name, prop in schema.get("properties", {}).items():
        prop = _deref(prop)
        if "string" in _types(prop):
            yield (name,), prop
        elif "array" in _types(prop) and "string" in _types(_deref(prop.get("items", {}))):
            yield (name, 0), _deref(prop["items"])


JSON_OPERATIONS = [
    op
    for op in CONTRACT.operations()
    if (body := _body_schema(op)) is not None and body[0] == "application/json"
]
QUERY_OPERATIONS = [
    op for op in CONTRACT.operations() if any(p["in"] == "query" for p in _parameters(op))
]
PATH_OPERATIONS = [
    op for op in CONTRACT.operations() if any(p["in"] == "path" for p in _parameters(op))
]


def _ids(operations: list[Operation]) -> list[str]:
    return [op.operation_id for op in operations]


# ------------------------------------------------------------------ the world the requests target


@pytest.fixture
def w(people, make_project, make_label, make_task, make_comment, admin) -> SimpleNamespace:
    owner, other = people.get(2)
    project = make_project(owner, name="Hostile", description="")
    label = make_label(project, owner, name="hostile", color="#000000")
    task = make_task(project, owner, title="hostile", label_ids=[label["id"]])
    comment = make_comment(task, owner, body="hostile")
    ids = {
        "project_id": project["id"],
        "label_id": label["id"],
        "task_id": task["id"],
        "comment_id": comment["id"],
        "user_id": other.id,  # putMember / removeMember: not a member (a valid request: 201/404)
        # markNotificationRead: an id that names nothing (a valid request: 404); the cases
        # here are about its spelling, which is refused before anything is looked up.
        "notification_id": str(uuid.uuid4()),
    }
    return SimpleNamespace(
        owner=owner,
        other=other,
        admin=admin,
        project=project,
        label=label,
        task=task,
        comment=comment,
        ids=ids,
    )


def client_for(w: SimpleNamespace, operation: Operation) -> ContractClient:
    return w.admin if operation.operation_id == "createUser" else w.owner.client


def url_for(w: SimpleNamespace, operation: Operation, **override: str) -> str:
    return expand(operation.path, **{**w.ids, **override})


# A valid body of every JSON operation (the hostile value then replaces one field). Adding a
# JSON operation to the contract fails test_every_json_operation_has_a_valid_body until it is
# listed here.
VALID_BODIES: dict[str, Callable[[SimpleNamespace], dict[str, Any]]] = {
    "createUser": lambda w: {
        "email": f"{unique('hostile')}@example.com",
        "display_name": "Hostile",
        "password": "p" * 20,
    },
    "createProject": lambda w: {"name": unique("Hostile")},
    "updateProject": lambda w: {"name": unique("Hostile")},
    "putMember": lambda w: {"role": "viewer"},
    "createLabel": lambda w: {"name": unique("hostile"), "color": "#336699"},
    "createTask": lambda w: {"title": unique("Hostile")},
    "updateTask": lambda w: {"title": unique("Hostile")},
    "createComment": lambda w: {"body": "hostile"},
    "updateComment": lambda w: {"body": "hostile"},
    # `stream: false`: an answer, not a stream (the suite's servers have no upstream: a 503).
    "askAssistant": lambda w: {"question": "Hostile?", "stream": False},
}


def test_every_json_operation_has_a_valid_body() -> None:
    assert {op.operation_id for op in JSON_OPERATIONS} == set(VALID_BODIES)


def _plausible(schema: dict[str, Any]) -> str:
    """A string of the field's kind (the hostile variants are built from it)."""
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("format") == "date":
        return "2031-01-15"
    if "pattern" in schema:
        return VALID_FOR_PATTERN[schema["pattern"]]()
    return "text"


def send_json(
    w: SimpleNamespace, operation: Operation, content: bytes, client: ContractClient | None = None
) -> httpx.Response:
    return (client or client_for(w, operation)).request(
        operation.method,
        url_for(w, operation),
        content=content,
        headers={"Content-Type": "application/json"},
    )


# ------------------------------------------------------------------ U+0000: JSON bodies

NUL_BODY_CASES = [
    (op, loc, schema)
    for op in JSON_OPERATIONS
    for loc, schema in _string_fields(_body_schema(op)[1])
]


def _nul_variants(schema: dict[str, Any]) -> dict[str, str]:
    plausible = _plausible(schema)
    variants = {
        "only": NUL,
        "inside": plausible[:1] + NUL + plausible[1:],
        "trailing": plausible + NUL,
    }
    if "maxLength" in schema:  # too long as well: the NUL is the one error at that loc
        variants["too-long"] = NUL * (schema["maxLength"] + 1)
    return variants


def _with_loc(body: dict[str, Any], loc: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    if len(loc) == 1:
        return {**body, loc[0]: value}
    name, index = loc
    items = [str(uuid.uuid4()) for _ in range(index)] + [value]
    return {**body, name: items}


@pytest.mark.parametrize(
    ("operation", "loc", "schema"),
    NUL_BODY_CASES,
    ids=[f"{op.operation_id}-{'.'.join(map(str, loc))}" for op, loc, _ in NUL_BODY_CASES],
)
def test_nul_in_a_body_string_is_invalid_characters(
    w: SimpleNamespace, operation: Operation, loc: tuple, schema: dict
) -> None:
    base = VALID_BODIES[operation.operation_id](w)
    for variant, value in _nul_variants(schema).items():
        body = _with_loc(base, loc, value)
        with case(variant):
            response = send_json(w, operation, json.dumps(body).encode())
            assert_errors(response, (("body", *loc), "invalid_characters"))


def test_nul_in_a_later_list_item_names_its_index(w: SimpleNamespace) -> None:
    response = w.owner.client.post(
        expand("/api/v1/projects/{project_id}/tasks", **w.ids),
        json={"title": "t", "label_ids": [w.label["id"], "a" + NUL, str(uuid.uuid4()) + NUL]},
    )
    assert_errors(
        response,
        (("body", "label_ids", 1), "invalid_characters"),
        (("body", "label_ids", 2), "invalid_characters"),
    )


def test_nul_and_other_errors_are_all_reported(w: SimpleNamespace) -> None:
    """The NUL replaces the other errors *of its own loc* only (DECISIONS), and an unknown
    field stays an unknown field."""
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    response = w.owner.client.post(
        url,
        json={
            "title": NUL * 300,  # too long too: one error, invalid_characters
            "description": "d" * 10001,
            "status": "open",
            "priority": "urgent" + NUL,
            "due_date": "2031-02-30",
            "label_ids": ["nope", NUL],
            "bogus": NUL,
        },
    )
    assert_errors(
        response,
        (("body", "title"), "invalid_characters"),
        (("body", "description"), "string_too_long"),
        (("body", "status"), "enum"),
        (("body", "priority"), "invalid_characters"),
        (("body", "due_date"), "date_parsing"),
        (("body", "label_ids", 0), "uuid_parsing"),
        (("body", "label_ids", 1), "invalid_characters"),
        # An unknown field is unknown whatever its value: the NUL replaces the checks of a
        # field's value (length, pattern, enum), not the verdict on the field itself.
        (("body", "bogus"), "extra_forbidden"),
    )
    response = w.admin.post(
        "/api/v1/users",
        json={"email": "bad", "display_name": "a" + NUL, "password": "short"},
    )
    assert_errors(
        response,
        (("body", "email"), "string_pattern_mismatch"),
        (("body", "display_name"), "invalid_characters"),
        (("body", "password"), "string_too_short"),
    )


@pytest.mark.parametrize("key", ["ti" + NUL + "tle", NUL, "title" + NUL])
def test_nul_in_a_body_key_is_an_unknown_field(w: SimpleNamespace, key: str) -> None:
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    response = w.owner.client.post(url, json={"title": "kept apart", key: "x"})
    assert_errors(response, (("body", key), "extra_forbidden"))


def test_a_nul_leaves_everything_unchanged(w: SimpleNamespace) -> None:
    """A valid change next to a NUL is not applied: the request fails as a whole."""
    task_url = expand("/api/v1/tasks/{task_id}", **w.ids)
    before = get_json(w.owner.client, task_url)
    response = w.owner.client.patch(task_url, json={"status": "done", "description": "x" + NUL})
    assert_errors(response, (("body", "description"), "invalid_characters"))
    assert get_json(w.owner.client, task_url) == before
    comments = expand("/api/v1/tasks/{task_id}/comments", **w.ids)
    assert_errors(
        w.owner.client.post(comments, json={"body": NUL}), (("body", "body"), "invalid_characters")
    )
    assert [c["body"] for c in get_json(w.owner.client, comments)["items"]] == ["hostile"]
    # The server is still well: the same requests without the NUL succeed.
    expect(w.owner.client.patch(task_url, json={"status": "done", "description": "x"}), 200)
    expect(w.owner.client.post(comments, json={"body": "after"}), 201)


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=_ids(JSON_OPERATIONS))
@pytest.mark.parametrize("authorization", [None, FORGED], ids=["no-token", "forged-token"])
def test_nul_in_a_body_without_a_valid_token_is_401(
    w: SimpleNamespace, api: ContractClient, operation: Operation, authorization: str | None
) -> None:
    loc, schema = next(_string_fields(_body_schema(operation)[1]))
    body = _with_loc(VALID_BODIES[operation.operation_id](w), loc, NUL)
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    response = api.request(
        operation.method, url_for(w, operation), content=json.dumps(body).encode(), headers=headers
    )
    assert_unauthorized(response)


# ------------------------------------------------------------------ U+0000: query and path


def _query_cases() -> list[tuple[Operation, dict[str, Any]]]:
    return [
        (op, param)
        for op in QUERY_OPERATIONS
        for param in _parameters(op)
        if param["in"] == "query"
    ]


QUERY_CASES = _query_cases()


def _query_value_schema(param: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(schema of one value, whether the parameter repeats)."""
    schema = _deref(param["schema"])
    if "array" in _types(schema):
        return _deref(schema["items"]), True
    return schema, False


@pytest.mark.parametrize(
    ("operation", "param"),
    QUERY_CASES,
    ids=[f"{op.operation_id}-{p['name']}" for op, p in QUERY_CASES],
)
def test_nul_in_a_query_value_is_invalid_characters(
    w: SimpleNamespace, operation: Operation, param: dict
) -> None:
    """Integer (`limit`), cursor, enum, uuid, date and text parameters alike."""
    schema, repeated = _query_value_schema(param)
    name = param["name"]
    loc = ("query", name, 0) if repeated else ("query", name)
    if "integer" in _types(schema):
        variants = [NUL, "5" + NUL, NUL + "5"]
    else:
        plausible = "x" if param["name"] == "cursor" else _plausible(schema)
        variants = [NUL, plausible + NUL, NUL * 150]
    for value in variants:
        with case(repr(value)):
            response = w.owner.client.get(url_for(w, operation), params={name: value})
            assert_errors(response, (loc, "invalid_characters"))


def test_nul_in_a_repeated_query_value_names_its_index(w: SimpleNamespace) -> None:
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    params = [("status", "todo"), ("status", "do" + NUL + "ne"), ("priority", NUL)]
    assert_errors(
        w.owner.client.get(url, params=params),
        (("query", "status", 1), "invalid_characters"),
        (("query", "priority", 0), "invalid_characters"),
    )


def test_nul_in_a_query_value_and_other_query_errors(w: SimpleNamespace) -> None:
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    params = {"q": NUL, "limit": "0", "sort": "title", "due_before": "2031-13-01"}
    assert_errors(
        w.owner.client.get(url, params=params),
        (("query", "q"), "invalid_characters"),
        (("query", "limit"), "greater_than_equal"),
        (("query", "sort"), "enum"),
        (("query", "due_before"), "date_parsing"),
    )


def test_nul_in_an_undocumented_query_parameter_is_ignored(w: SimpleNamespace) -> None:
    """DECISIONS: unknown query parameters are ignored; the NUL rule is about the documented
    ones (their values reach PostgreSQL)."""
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    page = get_json(w.owner.client, url, params={"unknown": NUL, "x" + NUL: "1"})
    assert [task["id"] for task in page["items"]] == [w.task["id"]]


def test_nul_in_a_query_without_a_token_is_401(api: ContractClient) -> None:
    for params in ({"limit": NUL}, {"q": NUL, "cursor": NUL}):
        assert_unauthorized(api.get("/api/v1/users", params=params))


@pytest.mark.parametrize("value", [NUL, "x" + NUL, NUL * 150])
def test_nul_in_an_access_token_is_a_bad_token(
    w: SimpleNamespace, api: ContractClient, value: str
) -> None:
    """`access_token` (streamProjectEvents) without an Authorization header is the credential,
    checked before validation: a NUL in it is a token that does not verify — 401, like a bad
    header — never a 422 nor a 500. (With the header, the header authenticates and a NUL in
    `access_token` is the usual 422 `invalid_characters`: the generic query case above.)"""
    url = expand("/api/v1/projects/{project_id}/events", **w.ids)
    assert_unauthorized(api.get(url, params={"access_token": value}))


@pytest.mark.parametrize("value", [NUL, "{id}" + NUL, NUL + "{id}"])
def test_nul_in_a_path_parameter_is_422(w: SimpleNamespace, value: str) -> None:
    """The path is not named by the NUL rule: a NUL makes the value no UUID (`uuid_parsing`);
    `invalid_characters` is accepted as well. Either way a 422 at that loc, never a 500."""
    url = "/api/v1/tasks/" + quote(value.replace("{id}", w.task["id"]), safe="")
    response = w.owner.client.get(url)
    errors = error_set(response)
    assert len(errors) == 1, errors
    assert next(iter(errors)) in {
        (("path", "task_id"), "uuid_parsing"),
        (("path", "task_id"), "invalid_characters"),
    }


# ------------------------------------------------------------------ U+0000: the sign-in form


@pytest.fixture
def signer(make_user) -> Account:
    """A user of its own: failed sign-ins count per (email, address), so the admin's and the
    pooled users' counts are never touched."""
    return make_user()


def test_nul_in_the_credentials_is_a_failed_sign_in(api: ContractClient, signer: Account) -> None:
    """DECISIONS: a U+0000 in `username` or `password` is a failed sign-in — 401, never a 422
    and never a 500 (no such user can exist; nothing is sent to PostgreSQL that it refuses)."""
    for form in (
        {"username": signer.email + NUL, "password": signer.password},
        {"username": NUL + signer.email, "password": signer.password},
        {"username": signer.email, "password": signer.password + NUL},
        {"username": signer.email, "password": NUL},
        {"username": NUL, "password": NUL},
        {"username": signer.email.replace("@", NUL + "@"), "password": signer.password},
    ):
        assert_unauthorized(api.post(TOKEN_URL, data=form))
    # The right credentials still work (nothing broke on the way, the pair is not locked).
    expect(api.post(TOKEN_URL, data={"username": signer.email, "password": signer.password}), 200)


def test_nul_in_the_other_form_fields_is_invalid_characters(
    api: ContractClient, signer: Account
) -> None:
    credentials = {"username": signer.email, "password": signer.password}
    for name, value in (("grant_type", "password" + NUL), ("grant_type", NUL), ("scope", NUL)):
        response = api.post(TOKEN_URL, data={**credentials, name: value})
        assert_errors(response, (("body", name), "invalid_characters"))
    # With the credentials NUL-poisoned too: the form's 422 comes first, and the credentials
    # are no 422 of their own.
    response = api.post(
        TOKEN_URL, data={"username": NUL, "password": NUL, "grant_type": NUL, "bogus": "1"}
    )
    assert_errors(
        response,
        (("body", "grant_type"), "invalid_characters"),
        (("body", "bogus"), "extra_forbidden"),
    )
    response = api.post(TOKEN_URL, data={"username": signer.email + NUL})
    assert_errors(response, (("body", "password"), "missing"))


# ------------------------------------------------------------------ surrogates and depth

SURROGATES = {
    "lone-high": '"\\ud800"',
    "lone-low": '"\\udc00"',
    "high-then-text": '"\\ud800x"',
    "high-then-non-low": '"\\ud800\\u0041"',
    "low-then-high": '"\\udc00\\ud800"',
    "high-at-end": '"text\\udbff"',
    "two-highs": '"\\ud800\\ud800"',
}
PLACEHOLDER = "@@hostile@@"


def _body_with_raw(w: SimpleNamespace, operation: Operation, raw: str, where: str) -> bytes:
    """A valid body of `operation` whose first string field (`where="value"`), one element of a
    list (`"list"`) or a new key (`"key"`) is the raw JSON text `raw`."""
    base = VALID_BODIES[operation.operation_id](w)
    loc, _ = next(_string_fields(_body_schema(operation)[1]))
    if where == "key":
        text = json.dumps({**base, PLACEHOLDER: 1})
        return text.replace(f'"{PLACEHOLDER}"', raw).encode()
    value: Any = [PLACEHOLDER] if where == "list" else PLACEHOLDER
    text = json.dumps(_with_loc(base, loc[:1], value))
    return text.replace(f'"{PLACEHOLDER}"', raw).encode()


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=_ids(JSON_OPERATIONS))
def test_unpaired_surrogate_escape_is_400(w: SimpleNamespace, operation: Operation) -> None:
    for name, raw in SURROGATES.items():
        for where in ("value", "list", "key"):
            with case(f"{name} as a {where}"):
                response = send_json(w, operation, _body_with_raw(w, operation, raw, where))
                assert_problem(response, 400)


def test_a_surrogate_pair_is_text(w: SimpleNamespace) -> None:
    """The control: a paired escape is one character (U+1F600), stored and returned."""
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    content = b'{"title": "smile \\ud83d\\ude00", "description": "\\uD83D\\uDE00"}'
    created = expect(
        w.owner.client.post(url, content=content, headers={"Content-Type": "application/json"}),
        201,
    )
    assert (created["title"], created["description"]) == ("smile \U0001f600", "\U0001f600")


def test_surrogate_encoded_as_utf8_bytes_is_400(w: SimpleNamespace) -> None:
    """CESU-8 / WTF-8: a surrogate's three bytes are not UTF-8."""
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    content = b'{"title": "\xed\xa0\x80"}'
    response = w.owner.client.post(
        url, content=content, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def _nested_list(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def _nested_object(depth: int) -> str:
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("operation", JSON_OPERATIONS, ids=_ids(JSON_OPERATIONS))
def test_nesting_deeper_than_32_is_400(w: SimpleNamespace, operation: Operation) -> None:
    base = json.dumps(VALID_BODIES[operation.operation_id](w))
    for name, content in {
        # {"field": [[...]]}: the body is level 1, so 32 lists inside make 33 levels.
        "lists-33": base[:-1] + ', "deep": ' + _nested_list(MAX_DEPTH) + "}",
        "objects-33": _nested_object(MAX_DEPTH + 1),
        "top-level-list-33": _nested_list(MAX_DEPTH + 1),
        "lists-100000": _nested_list(100_000),  # a recursive parser's stack
        "objects-50000": _nested_object(50_000),
        "unclosed-100000": "[" * 100_000,
    }.items():
        with case(name):
            assert_problem(send_json(w, operation, content.encode()), 400)


def test_nesting_of_exactly_32_is_parsed_and_validated(w: SimpleNamespace) -> None:
    """The bound is 32 levels, not fewer: such a body is JSON, and gets the 422 of its shape."""
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    headers = {"Content-Type": "application/json"}
    content = '{"title": ' + _nested_list(MAX_DEPTH - 1) + "}"
    response = w.owner.client.post(url, content=content.encode(), headers=headers)
    assert_errors(response, (("body", "title"), "invalid_type"))
    response = w.owner.client.post(url, content=_nested_list(MAX_DEPTH).encode(), headers=headers)
    assert_errors(response, (("body",), "invalid_type"))
    content = '{"title": "t", "label_ids": [' + _nested_list(MAX_DEPTH - 2) + "]}"
    response = w.owner.client.post(url, content=content.encode(), headers=headers)
    assert_errors(response, (("body", "label_ids", 0), "invalid_type"))


@pytest.mark.parametrize(
    "content",
    [
        '{"title": "\\ud800"}',
        '{"\\udc00": 1}',
        _nested_list(MAX_DEPTH + 1),
        _nested_list(100_000),
        _nested_object(50_000),
    ],
    ids=["surrogate", "surrogate-key", "depth-33", "depth-100000", "objects-50000"],
)
@pytest.mark.parametrize("authorization", [None, FORGED], ids=["no-token", "forged-token"])
def test_malformed_without_a_valid_token_is_401(
    w: SimpleNamespace, api: ContractClient, content: str, authorization: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    assert_unauthorized(api.post(url, content=content.encode(), headers=headers))


# ------------------------------------------------------------------ whole-string patterns

# A valid value for each pattern the contract puts on a request field. A new pattern in the
# contract fails test_every_patterned_field_is_covered until it is listed here.
VALID_FOR_PATTERN: dict[str, Callable[[], str]] = {
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": lambda: f"{unique('pattern')}@example.com",
    r"^#[0-9A-Fa-f]{6}$": lambda: "#abcdef",
    r"^password$": lambda: "password",
    r"^[ -~]+$": lambda: "printable-key",
}


def _patterned_fields() -> list[tuple[Operation, str, tuple, str]]:
    """(operation, where: body|form|query|path|header, loc, pattern) of every request field the
    contract gives a pattern."""
    found = []
    for op in CONTRACT.operations():
        body = _body_schema(op)
        if body is not None:
            media, schema = body
            where = "form" if media == "application/x-www-form-urlencoded" else "body"
            for loc, field in _string_fields(schema):
                if "pattern" in field:
                    found.append((op, where, ("body", *loc), field["pattern"]))
        for param in _parameters(op):
            schema, repeated = _query_value_schema(param)
            if "pattern" in schema:
                loc = (param["in"], param["name"].lower(), *((0,) if repeated else ()))
                found.append((op, param["in"], loc, schema["pattern"]))
    return found


PATTERNED = _patterned_fields()
# A header value cannot carry a line break on the wire (RFC 9110 field values; the HTTP client
# refuses to send one), so a trailing newline in a header is not a request a server can get.
BODY_PATTERNED = [case for case in PATTERNED if case[1] in ("body", "form")]


def test_every_patterned_field_is_covered() -> None:
    assert {pattern for *_, pattern in PATTERNED} <= set(VALID_FOR_PATTERN)
    covered = {"body", "form", "header"}
    uncovered = [(op.operation_id, loc) for op, where, loc, _ in PATTERNED if where not in covered]
    assert not uncovered, f"patterned query/path parameters need a test here: {uncovered}"
    fields = {(op.operation_id, loc) for op, _, loc, _ in BODY_PATTERNED}
    # What the contract has today; the list grows with it, never shrinks unnoticed.
    assert {
        ("createUser", ("body", "email")),
        ("createLabel", ("body", "color")),
        ("createToken", ("body", "grant_type")),
    } <= fields, fields


NEWLINES = {
    "trailing-lf": lambda v: v + "\n",
    "trailing-crlf": lambda v: v + "\r\n",
    "leading-lf": lambda v: "\n" + v,
    "lf-inside": lambda v: v[:2] + "\n" + v[2:],
    "trailing-space": lambda v: v + " ",
}


def _patterned_request(
    w: SimpleNamespace,
    api: ContractClient,
    signer: Account,
    operation: Operation,
    field: str,
    value: str,
) -> httpx.Response:
    if operation.operation_id == "createToken":
        form = {"username": signer.email, "password": signer.password, field: value}
        return api.post(TOKEN_URL, data=form)
    body = {**VALID_BODIES[operation.operation_id](w), field: value}
    return client_for(w, operation).request(operation.method, url_for(w, operation), json=body)


@pytest.mark.parametrize(
    ("operation", "where", "loc", "pattern"),
    BODY_PATTERNED,
    ids=[f"{op.operation_id}-{loc[-1]}" for op, _, loc, _ in BODY_PATTERNED],
)
def test_patterns_match_the_whole_string(
    w: SimpleNamespace,
    api: ContractClient,
    signer: Account,
    operation: Operation,
    where: str,
    loc: tuple,
    pattern: str,
) -> None:
    field = loc[1]
    for name, spoil in NEWLINES.items():
        value = spoil(VALID_FOR_PATTERN[pattern]())
        with case(f"{name}: {value!r}"):
            response = _patterned_request(w, api, signer, operation, field, value)
            assert_errors(response, (loc, "string_pattern_mismatch"))
    # The control: the same request with the value intact succeeds (the case above failed for
    # its newline, not for something else).
    response = _patterned_request(w, api, signer, operation, field, VALID_FOR_PATTERN[pattern]())
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("spoil", list(NEWLINES))
def test_an_existing_email_with_a_newline_is_422_not_409(w: SimpleNamespace, spoil: str) -> None:
    """The old `$` let `"taken@example.com\\n"` through, to end in a misleading 409 (or a 500)."""
    for email in (w.other.email, w.other.email.upper()):
        body = {"email": NEWLINES[spoil](email), "display_name": "Dup", "password": "p" * 20}
        assert_errors(
            w.admin.post("/api/v1/users", json=body), (("body", "email"), "string_pattern_mismatch")
        )


def test_a_color_with_a_newline_is_not_stored(w: SimpleNamespace) -> None:
    url = expand("/api/v1/projects/{project_id}/labels", **w.ids)
    for color in ("#abcdef\n", "#ABCDEF\n", "#000000\r\n"):
        assert_errors(
            w.owner.client.post(url, json={"name": unique("nl"), "color": color}),
            (("body", "color"), "string_pattern_mismatch"),
        )
    assert [label["color"] for label in get_json(w.owner.client, url)["items"]] == ["#000000"]


# ------------------------------------------------------------------ ASCII-only integers

INTEGER_QUERY = [
    (op, param) for op, param in QUERY_CASES if "integer" in _types(_query_value_schema(param)[0])
]
NOT_ASCII_INTEGERS = {
    "arabic-indic": "\u0663",  # ٣
    "arabic-indic-two": "\u0661\u0660",  # ١٠
    "fullwidth": "\uff13",  # ３
    "devanagari": "\u0969",  # ३
    "superscript": "\u00b3",  # ³: str.isdigit() says yes, int() says no
    "plus": "+3",
    "leading-space": " 3",
    "trailing-space": "3 ",
    "underscore": "1_0",
    "unicode-minus": "\u22123",  # −3
    "hex": "0x10",
    "exponent": "1e1",
    "decimal": "3.0",
    "trailing-newline": "3\n",
}


def test_the_contract_has_integer_query_parameters_and_no_integer_path_parameters() -> None:
    """The integer rule is exercised where the contract has integers: `limit` on every list,
    `last_event_id` on the event stream; the boolean rule where it has booleans (`unread`).
    (An integer or boolean path parameter, or a boolean header, would need its own cases.)"""
    assert {op.operation_id for op, _ in INTEGER_QUERY} >= {
        "listUsers",
        "listProjects",
        "listTasks",
        "listComments",
        "listActivity",
        "listNotifications",
        "streamProjectEvents",
    }
    assert [(op.operation_id, p["name"]) for op, p in BOOLEAN_QUERY] == [
        ("listNotifications", "unread")
    ]
    for op in CONTRACT.operations():
        for param in _parameters(op):
            schema, _ = _query_value_schema(param)
            assert not (param["in"] == "path" and "integer" in _types(schema)), param
            assert not (param["in"] != "query" and "boolean" in _types(schema)), param


@pytest.mark.parametrize(
    ("operation", "param"),
    INTEGER_QUERY,
    ids=[f"{op.operation_id}-{p['name']}" for op, p in INTEGER_QUERY],
)
def test_integer_query_values_are_ascii_digits_only(
    w: SimpleNamespace, operation: Operation, param: dict
) -> None:
    name = param["name"]
    url = url_for(w, operation)
    for label, value in NOT_ASCII_INTEGERS.items():
        with case(f"{label}: {value!r}"):
            response = w.owner.client.get(url, params={name: value})
            assert_errors(response, (("query", name), "int_parsing"))
    # The controls: ASCII digits, leading zeros included, and an ASCII minus.
    for value in ("3", "003", "100"):
        if operation.streams:  # the event stream opens (and is left at once)
            with w.owner.client.stream("GET", url, params={name: value}) as response:
                assert response.status_code == 200, response.read()
            continue
        page = get_json(w.owner.client, url, params={name: value})
        assert len(page["items"]) <= int(value)
    assert_errors(
        w.owner.client.get(url, params={name: "-3"}), (("query", name), "greater_than_equal")
    )


# ------------------------------------------------------------------ booleans: true or false

BOOLEAN_QUERY = [
    (op, param) for op, param in QUERY_CASES if "boolean" in _types(_query_value_schema(param)[0])
]
NOT_BOOLEANS = {
    "capital": "True",
    "upper": "TRUE",
    "one": "1",
    "zero": "0",
    "yes": "yes",
    "on": "on",
    "empty": "",
    "fullwidth": "\uff54rue",  # ｔrue
    "leading-space": " true",
    "trailing-space": "false ",
    "trailing-newline": "true\n",
}


@pytest.mark.parametrize(
    ("operation", "param"),
    BOOLEAN_QUERY,
    ids=[f"{op.operation_id}-{p['name']}" for op, p in BOOLEAN_QUERY],
)
def test_boolean_query_values_are_true_or_false_only(
    w: SimpleNamespace, operation: Operation, param: dict
) -> None:
    """DECISIONS "Validation error types": booleans accept `true`/`false` only (Python's and
    Django's parsers also take `1`, `yes`, `on`, `True`...)."""
    name = param["name"]
    url = url_for(w, operation)
    for label, value in NOT_BOOLEANS.items():
        with case(f"{label}: {value!r}"):
            assert_errors(
                w.owner.client.get(url, params={name: value}), (("query", name), "bool_parsing")
            )
    for value in ("true", "false"):  # the controls
        assert "items" in get_json(w.owner.client, url, params={name: value})


# ------------------------------------------------------------------ canonical UUIDs


def _uuid_spellings(value: str) -> dict[str, str]:
    """Spellings Python's uuid.UUID() (and so a lenient parser) takes, and the contract not."""
    hexdigits = value.replace("-", "")
    return {
        "braces": "{" + value + "}",
        "urn": "urn:uuid:" + value,
        "no-hyphens": hexdigits,
        "misplaced-hyphens": "-".join(
            [hexdigits[:4], hexdigits[4:12], hexdigits[12:16], hexdigits[16:20], hexdigits[20:]]
        ),
        "leading-space": " " + value,
        "trailing-space": value + " ",
        "trailing-newline": value + "\n",
        "upper-urn": "URN:UUID:" + value.upper(),
        "braces-no-hyphens": "{" + hexdigits + "}",
    }


def _path_uuid_params(operation: Operation) -> list[str]:
    return [p["name"] for p in _parameters(operation) if p["in"] == "path"]


UUID_PATH_OPERATIONS = [op for op in PATH_OPERATIONS if _path_uuid_params(op)]


def test_every_path_parameter_is_a_uuid() -> None:
    for op in PATH_OPERATIONS:
        for param in _parameters(op):
            if param["in"] == "path":
                assert _deref(param["schema"]).get("format") == "uuid", (op, param)


@pytest.mark.parametrize("operation", UUID_PATH_OPERATIONS, ids=_ids(UUID_PATH_OPERATIONS))
def test_path_uuids_are_canonical_only(w: SimpleNamespace, operation: Operation) -> None:
    """The real ids, spelled otherwise: a lenient parser would find (or change) the resource;
    the contract answers 422 `uuid_parsing` at that parameter, before anything happens."""
    body = VALID_BODIES.get(operation.operation_id)
    kwargs = {"json": body(w)} if body else {}
    for name in _path_uuid_params(operation):
        for label, spelled in _uuid_spellings(w.ids[name]).items():
            with case(f"{name} {label}: {spelled!r}"):
                url = url_for(w, operation, **{name: quote(spelled, safe="")})
                response = client_for(w, operation).request(operation.method, url, **kwargs)
                assert_errors(response, (("path", name), "uuid_parsing"))
    # Nothing was touched: the project and its task are as they were.
    expect(w.owner.client.get(expand("/api/v1/tasks/{task_id}", **w.ids)), 200)


def test_upper_case_uuids_are_canonical(w: SimpleNamespace, make_task) -> None:
    """The control: 8-4-4-4-12 in either case is a UUID — in the path, the query and the body."""
    got = get_json(w.owner.client, "/api/v1/tasks/" + w.task["id"].upper())
    assert got["id"] == w.task["id"]
    tasks = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    page = get_json(w.owner.client, tasks, params={"label_id": w.label["id"].upper()})
    assert [t["id"] for t in page["items"]] == [w.task["id"]]
    created = expect(
        w.owner.client.post(
            tasks,
            json={
                "title": "upper",
                "assignee_id": w.owner.id.upper(),
                "label_ids": [w.label["id"].upper()],
            },
        ),
        201,
    )
    assert created["assignee"]["id"] == w.owner.id
    assert [label["id"] for label in created["labels"]] == [w.label["id"]]


@pytest.mark.parametrize("name", ["assignee_id", "label_id"])
def test_query_uuids_are_canonical_only(w: SimpleNamespace, name: str) -> None:
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    real = w.owner.id if name == "assignee_id" else w.label["id"]
    for label, spelled in _uuid_spellings(real).items():
        with case(f"{label}: {spelled!r}"):
            response = w.owner.client.get(url, params={name: spelled})
            assert_errors(response, (("query", name), "uuid_parsing"))


def test_every_uuid_query_parameter_is_covered() -> None:
    names = {
        (op.operation_id, p["name"])
        for op, p in QUERY_CASES
        if _query_value_schema(p)[0].get("format") == "uuid"
    }
    assert names == {("listTasks", "assignee_id"), ("listTasks", "label_id")}, names


@pytest.mark.parametrize("operation_id", ["createTask", "updateTask"])
def test_body_uuids_are_canonical_only(w: SimpleNamespace, operation_id: str) -> None:
    operation = CONTRACT.operation(operation_id)
    task_url = expand("/api/v1/tasks/{task_id}", **w.ids)
    before = get_json(w.owner.client, task_url)
    for label, spelled in _uuid_spellings(w.owner.id).items():
        body = {"title": "t", "assignee_id": spelled}
        with case(f"assignee_id {label}: {spelled!r}"):
            response = client_for(w, operation).request(
                operation.method, url_for(w, operation), json=body
            )
            assert_errors(response, (("body", "assignee_id"), "uuid_parsing"))
    for label, spelled in _uuid_spellings(w.label["id"]).items():
        body = {"title": "t", "label_ids": [w.label["id"], spelled]}
        with case(f"label_ids {label}: {spelled!r}"):
            response = client_for(w, operation).request(
                operation.method, url_for(w, operation), json=body
            )
            assert_errors(response, (("body", "label_ids", 1), "uuid_parsing"))
    assert get_json(w.owner.client, task_url) == before


def test_every_uuid_body_field_is_covered() -> None:
    fields = {
        (op.operation_id, loc)
        for op in JSON_OPERATIONS
        for loc, schema in _string_fields(_body_schema(op)[1])
        if schema.get("format") == "uuid"
    }
    assert fields == {
        ("createTask", ("assignee_id",)),
        ("createTask", ("label_ids", 0)),
        ("updateTask", ("assignee_id",)),
        ("updateTask", ("label_ids", 0)),
    }, fields


# ------------------------------------------------------------------ bounded work before auth


def timed(
    client: httpx.Client, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise AssertionError(
            f"{method} {url[:100]}: no answer within {GIVE_UP_SECONDS:.0f} s — unbounded work"
        ) from None
    except httpx.RemoteProtocolError as exc:
        raise AssertionError(
            f"{method} {url[:100]}: the connection closed without an answer ({exc}): a request "
            "line longer than the HTTP server takes (gunicorn's limit_request_line, 4094 bytes "
            "by default, shared/serve.py), or a kept-alive connection the server broke after "
            "answering the previous request without reading its body"
        ) from None
    return response, time.monotonic() - started


@pytest.fixture
def raw(server, api: ContractClient) -> Iterator[httpx.Client]:
    """An unvalidated client: the clock stops when the answer arrives, and the validating
    client (`api.check`) looks at the answer afterwards."""
    with httpx.Client(base_url=server.base_url, timeout=GIVE_UP_SECONDS) as client:
        yield client


def assert_still_serving(raw: httpx.Client, api: ContractClient, account: Account) -> None:
    """The next requests are answered: on the same kept-alive connection (an answer given
    before the body was read must not leave the rest of the body to be parsed as the next
    request), and on new ones."""
    response, _ = timed(raw, "GET", "/healthz")
    api.check(response)
    assert response.status_code == 200, response.text
    for client, url in ((api, "/healthz"), (account.client, "/api/v1/me")):
        started = time.monotonic()
        response = client.get(url)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < BOUND_SECONDS, f"{url} after the hostile request"


def _form_of(size: int, field: Callable[[int], str]) -> bytes:
    parts, length, i = [], 0, 0
    while True:
        part = field(i)
        if length + len(part) + 1 > size:
            break
        parts.append(part)
        length += len(part) + 1
        i += 1
    return "&".join(parts).encode()


# Forms of about 1 MiB, none with a password (so the answer is known: a 422 that says so).
FORMS: dict[str, Callable[[int], bytes]] = {
    "one-field-repeated": lambda size: _form_of(size, lambda i: "username=a"),
    "unknown-field-repeated": lambda size: _form_of(size, lambda i: "x=1"),
    "two-fields-alternating": lambda size: _form_of(
        size, lambda i: "scope=s" if i % 2 else "grant_type=password"
    ),
    "empty-pairs": lambda size: _form_of(size, lambda i: ""),
    "one-long-value": lambda size: b"username=" + b"a" * (size - 9),
}


@pytest.mark.parametrize("shape", list(FORMS))
def test_a_one_mib_sign_in_form_is_answered_quickly(
    raw: httpx.Client, api: ContractClient, signer: Account, shape: str
) -> None:
    """SPEC 11: a 1 MiB form before authentication is linear work. Without a password it is a
    422 that says so, however the rest of the form repeats itself."""
    content = FORMS[shape](ONE_MIB - 64)
    response, elapsed = timed(
        raw,
        "POST",
        TOKEN_URL,
        content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    api.check(response)
    assert (("body", "password"), "missing") in error_set(response), response.text[:300]
    assert elapsed < BOUND_SECONDS, f"{len(content)} bytes of form took {elapsed:.1f} s"
    assert_still_serving(raw, api, signer)


def test_an_oversized_sign_in_form_is_413_quickly(
    raw: httpx.Client, api: ContractClient, signer: Account
) -> None:
    content = FORMS["one-field-repeated"](ONE_MIB + 4096)
    response, elapsed = timed(
        raw,
        "POST",
        TOKEN_URL,
        content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    api.check(response)
    assert_problem(response, 413)
    assert elapsed < BOUND_SECONDS
    assert_still_serving(raw, api, signer)


def _many_parameters(count: int, pair: Callable[[int], str]) -> str:
    return "&".join(pair(i) for i in range(count))


QUERIES = {
    "one-name-repeated": lambda i: "a=",
    "distinct-names": lambda i: f"x{i}",
    "documented-repeated": lambda i: "q=x",
    "bare-names": lambda i: "b",
}


def _refused_by_the_server_layer(response: httpx.Response) -> str:
    if response.status_code in (414, 431) or "x-request-id" not in response.headers:
        return (
            f" — answered {response.status_code} by the HTTP server itself, not the app: gunicorn "
            "refuses request lines over limit_request_line (4094 bytes by default), and 10,000 "
            "parameters need more (shared/serve.py)"
        )
    return ""


@pytest.mark.parametrize("shape", list(QUERIES))
def test_ten_thousand_query_parameters_are_answered_quickly(
    raw: httpx.Client, api: ContractClient, signer: Account, shape: str
) -> None:
    """SPEC 11: 10,000 query parameters before authentication → the 401 of any request
    without a token; with one, unknown parameters are ignored (a page of projects)."""
    query = _many_parameters(10_000, QUERIES[shape])
    response, elapsed = timed(raw, "GET", "/api/v1/projects?" + query)
    assert response.status_code == 401, (
        f"{response.status_code}{_refused_by_the_server_layer(response)}: {response.text[:200]}"
    )
    api.check(response)
    assert_unauthorized(response)
    assert elapsed < BOUND_SECONDS, f"10,000 parameters took {elapsed:.1f} s"
    if shape != "documented-repeated":  # a repeated `q` is not part of the contract
        authed = {"Authorization": f"Bearer {signer.token}"}
        response, elapsed = timed(raw, "GET", "/api/v1/projects?" + query, headers=authed)
        api.check(response)
        assert response.status_code == 200, response.text[:300]
        assert elapsed < BOUND_SECONDS, f"10,000 parameters took {elapsed:.1f} s"
    assert_still_serving(raw, api, signer)


def _json_of(size: int, shape: str) -> bytes:
    if shape == "long-string":
        skeleton = json.dumps({"title": ""})
        return json.dumps({"title": "t" * (size - len(skeleton))}).encode()
    if shape == "many-keys":
        return b"{" + _form_of(size - 2, lambda i: f'"k{i}":0').replace(b"&", b",") + b"}"
    if shape == "many-items":
        return b'{"title":"t","extra":[' + b",".join([b"0"] * ((size - 26) // 2)) + b"]}"
    if shape == "deep":
        return _nested_list((size - 2) // 2).encode()
    raise ValueError(shape)


# The shapes of a 1 MiB JSON body, and the answer with a token (None: not asked — 100,000
# unknown keys are 100,000 errors to list, linear work but after authentication).
JSON_SHAPES = {"long-string": 422, "many-keys": None, "many-items": 422, "deep": 400}


@pytest.mark.parametrize("shape", list(JSON_SHAPES))
def test_a_one_mib_json_body_without_a_token_is_answered_quickly(
    raw: httpx.Client, api: ContractClient, signer: Account, w: SimpleNamespace, shape: str
) -> None:
    content = _json_of(ONE_MIB - 16, shape)
    assert ONE_MIB - 64 < len(content) <= ONE_MIB, len(content)
    url = expand("/api/v1/projects/{project_id}/tasks", **w.ids)
    headers = {"Content-Type": "application/json"}
    response, elapsed = timed(raw, "POST", url, content=content, headers=headers)
    api.check(response)
    assert_unauthorized(response)
    assert elapsed < BOUND_SECONDS, f"1 MiB of {shape} JSON took {elapsed:.1f} s before the 401"
    status = JSON_SHAPES[shape]
    if status is not None:  # with a token: parsed and validated, bounded all the same
        headers["Authorization"] = f"Bearer {w.owner.token}"
        response, elapsed = timed(raw, "POST", url, content=content, headers=headers)
        api.check(response)
        assert_problem(response, status)
        assert elapsed < BOUND_SECONDS, f"1 MiB of {shape} JSON took {elapsed:.1f} s"
    assert_still_serving(raw, api, signer)
