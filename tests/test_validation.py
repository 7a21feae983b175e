"""Request validation (contract/DECISIONS.md "Errors": the order of checks and "Validation
error types"): a JSON body's media type (415) and syntax (400), then the 422 matrix of body,
query and path parameters.

Every case asserts the exact status, or the exact set of (loc, type), and that nothing was
written.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from support.factories import random_id, unique
from support.pagination import activity, first_page, ids, walk
from support.paths import (
    API,
    PROJECTS_URL,
    USERS_URL,
    activity_url,
    comment_url,
    comments_url,
    labels_url,
    members_url,
    project_url,
    task_url,
    tasks_url,
)
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json


@pytest.fixture
def w(people, make_project, make_label, make_task, make_comment, admin):
    owner = people.get(1)[0]
    project = make_project(owner, name="Validated", description="")
    label = make_label(project, owner, name="valid", color="#000000")
    task = make_task(project, owner, title="valid", label_ids=[label["id"]])
    comment = make_comment(task, owner, body="valid")
    return SimpleNamespace(
        owner=owner, admin=admin, project=project, label=label, task=task, comment=comment
    )


OPERATIONS = {
    "createUser": ("POST", lambda w: USERS_URL),
    "createProject": ("POST", lambda w: PROJECTS_URL),
    "updateProject": ("PATCH", lambda w: project_url(w.project)),
    "putMember": ("PUT", lambda w: f"{project_url(w.project)}/members/{w.owner.id}"),
    "createLabel": ("POST", lambda w: labels_url(w.project)),
    "createTask": ("POST", lambda w: tasks_url(w.project)),
    "updateTask": ("PATCH", lambda w: task_url(w.task)),
    "createComment": ("POST", lambda w: comments_url(w.task)),
    "updateComment": ("PATCH", lambda w: comment_url(w.comment)),
}


def client_for(w, operation):
    return w.admin if operation == "createUser" else w.owner.client


def snapshot(w):
    """Everything a write through these operations could change."""
    c = w.owner.client
    return {
        "project": get_json(c, project_url(w.project)),
        "newest_projects": first_page(c, PROJECTS_URL, limit=3),
        "members": get_json(c, members_url(w.project)),
        "labels": get_json(c, labels_url(w.project)),
        "tasks": walk(c, tasks_url(w.project), limit=100),
        "comments": walk(c, comments_url(w.task), limit=100),
        "activity": activity(c, w.project["id"]),
    }


def send(w, operation, **kwargs):
    method, url = OPERATIONS[operation]
    return client_for(w, operation).request(method, url(w), **kwargs)


def B(*loc):  # noqa: N802 - reads like the loc it builds
    return ("body", *loc)


L = "LABEL"  # replaced by the fixture label's id
TWENTY_ONE = [str(uuid.UUID(int=i + 1)) for i in range(21)]

CASES = [
    # ---------------------------------------------------------------- createUser
    (
        "createUser",
        {},
        {(B("email"), "missing"), (B("display_name"), "missing"), (B("password"), "missing")},
    ),
    ("createUser", {"email": 5}, {(B("email"), "invalid_type")}),
    ("createUser", {"email": None}, {(B("email"), "invalid_type")}),
    ("createUser", {"email": ["a@example.com"]}, {(B("email"), "invalid_type")}),
    ("createUser", {"display_name": ""}, {(B("display_name"), "string_too_short")}),
    ("createUser", {"display_name": "d" * 101}, {(B("display_name"), "string_too_long")}),
    ("createUser", {"display_name": 7}, {(B("display_name"), "invalid_type")}),
    ("createUser", {"display_name": None}, {(B("display_name"), "invalid_type")}),
    ("createUser", {"password": 123456789012345678}, {(B("password"), "invalid_type")}),
    ("createUser", {"is_admin": "true"}, {(B("is_admin"), "invalid_type")}),
    ("createUser", {"is_admin": 1}, {(B("is_admin"), "invalid_type")}),
    ("createUser", {"is_admin": None}, {(B("is_admin"), "invalid_type")}),
    ("createUser", {"id": str(uuid.uuid4())}, {(B("id"), "extra_forbidden")}),
    (
        "createUser",
        {"created_at": "2026-01-01T00:00:00.000000Z", "password_hash": "x"},
        {(B("created_at"), "extra_forbidden"), (B("password_hash"), "extra_forbidden")},
    ),
    (
        "createUser",
        {"email": "bad", "display_name": "", "password": "short", "role": "x"},
        {
            (B("email"), "string_pattern_mismatch"),
            (B("display_name"), "string_too_short"),
            (B("password"), "string_too_short"),
            (B("role"), "extra_forbidden"),
        },
    ),
    # ---------------------------------------------------------------- createProject
    ("createProject", {}, {(B("name"), "missing")}),
    ("createProject", {"name": ""}, {(B("name"), "string_too_short")}),
    ("createProject", {"name": "n" * 201}, {(B("name"), "string_too_long")}),
    ("createProject", {"name": 1}, {(B("name"), "invalid_type")}),
    ("createProject", {"name": None}, {(B("name"), "invalid_type")}),
    ("createProject", {"name": True}, {(B("name"), "invalid_type")}),
    ("createProject", {"name": ["x"]}, {(B("name"), "invalid_type")}),
    ("createProject", {"name": {"x": 1}}, {(B("name"), "invalid_type")}),
    (
        "createProject",
        {"name": "ok", "description": "d" * 2001},
        {(B("description"), "string_too_long")},
    ),
    ("createProject", {"name": "ok", "description": None}, {(B("description"), "invalid_type")}),
    ("createProject", {"name": "ok", "description": 0}, {(B("description"), "invalid_type")}),
    (
        "createProject",
        {"name": "ok", "owner_id": str(uuid.uuid4())},
        {(B("owner_id"), "extra_forbidden")},
    ),
    (
        "createProject",
        {"description": 5, "version": 2},
        {
            (B("name"), "missing"),
            (B("description"), "invalid_type"),
            (B("version"), "extra_forbidden"),
        },
    ),
    # ---------------------------------------------------------------- updateProject
    ("updateProject", {"name": ""}, {(B("name"), "string_too_short")}),
    ("updateProject", {"name": "n" * 201}, {(B("name"), "string_too_long")}),
    ("updateProject", {"name": None}, {(B("name"), "invalid_type")}),
    ("updateProject", {"description": "d" * 2001}, {(B("description"), "string_too_long")}),
    ("updateProject", {"description": None}, {(B("description"), "invalid_type")}),
    ("updateProject", {"version": 3}, {(B("version"), "extra_forbidden")}),
    (
        "updateProject",
        {"my_role": "viewer", "task_counts": {}},
        {(B("my_role"), "extra_forbidden"), (B("task_counts"), "extra_forbidden")},
    ),
    (
        "updateProject",
        {"name": 5, "description": []},
        {(B("name"), "invalid_type"), (B("description"), "invalid_type")},
    ),
    # ---------------------------------------------------------------- putMember
    ("putMember", {}, {(B("role"), "missing")}),
    ("putMember", {"role": "admin"}, {(B("role"), "enum")}),
    ("putMember", {"role": "OWNER"}, {(B("role"), "enum")}),
    ("putMember", {"role": ""}, {(B("role"), "enum")}),
    ("putMember", {"role": 1}, {(B("role"), "invalid_type")}),
    ("putMember", {"role": None}, {(B("role"), "invalid_type")}),
    ("putMember", {"role": ["viewer"]}, {(B("role"), "invalid_type")}),
    (
        "putMember",
        {"role": "viewer", "user_id": str(uuid.uuid4())},
        {(B("user_id"), "extra_forbidden")},
    ),
    # ---------------------------------------------------------------- createLabel
    ("createLabel", {}, {(B("name"), "missing"), (B("color"), "missing")}),
    ("createLabel", {"name": "", "color": "#000000"}, {(B("name"), "string_too_short")}),
    ("createLabel", {"name": "n" * 51, "color": "#000000"}, {(B("name"), "string_too_long")}),
    ("createLabel", {"name": 5, "color": "#000000"}, {(B("name"), "invalid_type")}),
    ("createLabel", {"name": "x", "color": None}, {(B("color"), "invalid_type")}),
    ("createLabel", {"name": "x", "color": 16777215}, {(B("color"), "invalid_type")}),
    ("createLabel", {"name": "x", "color": "#FFF"}, {(B("color"), "string_pattern_mismatch")}),
    (
        "createLabel",
        {"name": "x", "color": "#000000", "project_id": str(uuid.uuid4())},
        {(B("project_id"), "extra_forbidden")},
    ),
    (
        "createLabel",
        {"name": "", "color": "blue"},
        {(B("name"), "string_too_short"), (B("color"), "string_pattern_mismatch")},
    ),
    # ---------------------------------------------------------------- createTask
    ("createTask", {}, {(B("title"), "missing")}),
    ("createTask", {"description": "x"}, {(B("title"), "missing")}),
    ("createTask", {"title": ""}, {(B("title"), "string_too_short")}),
    ("createTask", {"title": "t" * 201}, {(B("title"), "string_too_long")}),
    ("createTask", {"title": 5}, {(B("title"), "invalid_type")}),
    ("createTask", {"title": None}, {(B("title"), "invalid_type")}),
    ("createTask", {"title": ["t"]}, {(B("title"), "invalid_type")}),
    (
        "createTask",
        {"title": "t", "description": "d" * 10001},
        {(B("description"), "string_too_long")},
    ),
    ("createTask", {"title": "t", "description": None}, {(B("description"), "invalid_type")}),
    ("createTask", {"title": "t", "status": "open"}, {(B("status"), "enum")}),
    ("createTask", {"title": "t", "status": "TODO"}, {(B("status"), "enum")}),
    ("createTask", {"title": "t", "status": ""}, {(B("status"), "enum")}),
    ("createTask", {"title": "t", "status": 1}, {(B("status"), "invalid_type")}),
    ("createTask", {"title": "t", "status": None}, {(B("status"), "invalid_type")}),
    ("createTask", {"title": "t", "priority": "critical"}, {(B("priority"), "enum")}),
    ("createTask", {"title": "t", "priority": 2}, {(B("priority"), "invalid_type")}),
    ("createTask", {"title": "t", "priority": None}, {(B("priority"), "invalid_type")}),
    ("createTask", {"title": "t", "assignee_id": "nope"}, {(B("assignee_id"), "uuid_parsing")}),
    ("createTask", {"title": "t", "assignee_id": ""}, {(B("assignee_id"), "uuid_parsing")}),
    (
        "createTask",
        {"title": "t", "assignee_id": "12345678-1234-1234-1234-12345678901"},
        {(B("assignee_id"), "uuid_parsing")},
    ),
    ("createTask", {"title": "t", "assignee_id": 1}, {(B("assignee_id"), "invalid_type")}),
    ("createTask", {"title": "t", "due_date": "2026-13-01"}, {(B("due_date"), "date_parsing")}),
    ("createTask", {"title": "t", "due_date": "2026-02-30"}, {(B("due_date"), "date_parsing")}),
    ("createTask", {"title": "t", "due_date": "tomorrow"}, {(B("due_date"), "date_parsing")}),
    ("createTask", {"title": "t", "due_date": "01.12.2026"}, {(B("due_date"), "date_parsing")}),
    (
        "createTask",
        {"title": "t", "due_date": "2026-12-01T10:00:00"},
        {(B("due_date"), "date_parsing")},
    ),
    ("createTask", {"title": "t", "due_date": ""}, {(B("due_date"), "date_parsing")}),
    ("createTask", {"title": "t", "due_date": 0}, {(B("due_date"), "invalid_type")}),
    ("createTask", {"title": "t", "due_date": 20261201}, {(B("due_date"), "invalid_type")}),
    ("createTask", {"title": "t", "label_ids": "x"}, {(B("label_ids"), "invalid_type")}),
    ("createTask", {"title": "t", "label_ids": {"a": L}}, {(B("label_ids"), "invalid_type")}),
    ("createTask", {"title": "t", "label_ids": None}, {(B("label_ids"), "invalid_type")}),
    ("createTask", {"title": "t", "label_ids": [1]}, {(B("label_ids", 0), "invalid_type")}),
    ("createTask", {"title": "t", "label_ids": ["nope"]}, {(B("label_ids", 0), "uuid_parsing")}),
    ("createTask", {"title": "t", "label_ids": [L, "nope"]}, {(B("label_ids", 1), "uuid_parsing")}),
    ("createTask", {"title": "t", "label_ids": TWENTY_ONE}, {(B("label_ids"), "too_long")}),
    ("createTask", {"title": "t", "label_ids": [L, L]}, {(B("label_ids"), "not_unique")}),
    (
        "createTask",
        {"title": "t", "label_ids": [random_id()]},
        {(B("label_ids", 0), "invalid_reference")},
    ),
    (
        "createTask",
        {"title": "t", "label_ids": [L, random_id()]},
        {(B("label_ids", 1), "invalid_reference")},
    ),
    (
        "createTask",
        {"title": "t", "assignee_id": random_id()},
        {(B("assignee_id"), "invalid_reference")},
    ),
    (
        "createTask",
        {
            "title": "t",
            "id": random_id(),
            "version": 1,
            "created_by": None,
            "project_id": None,
            "comment_count": 0,
            "labels": [],
            "assignee": None,
        },
        {
            (B(f), "extra_forbidden")
            for f in (
                "id",
                "version",
                "created_by",
                "project_id",
                "comment_count",
                "labels",
                "assignee",
            )
        },
    ),
    (
        "createTask",
        {"title": "", "status": "open", "due_date": "nope", "label_ids": ["x"], "bogus": 1},
        {
            (B("title"), "string_too_short"),
            (B("status"), "enum"),
            (B("due_date"), "date_parsing"),
            (B("label_ids", 0), "uuid_parsing"),
            (B("bogus"), "extra_forbidden"),
        },
    ),
    # ---------------------------------------------------------------- updateTask
    ("updateTask", {"title": None}, {(B("title"), "invalid_type")}),
    ("updateTask", {"title": ""}, {(B("title"), "string_too_short")}),
    ("updateTask", {"description": None}, {(B("description"), "invalid_type")}),
    ("updateTask", {"status": None}, {(B("status"), "invalid_type")}),
    ("updateTask", {"status": "closed"}, {(B("status"), "enum")}),
    ("updateTask", {"priority": None}, {(B("priority"), "invalid_type")}),
    ("updateTask", {"priority": "HIGH"}, {(B("priority"), "enum")}),
    ("updateTask", {"label_ids": None}, {(B("label_ids"), "invalid_type")}),
    ("updateTask", {"label_ids": [L, L]}, {(B("label_ids"), "not_unique")}),
    ("updateTask", {"label_ids": TWENTY_ONE}, {(B("label_ids"), "too_long")}),
    ("updateTask", {"label_ids": [random_id()]}, {(B("label_ids", 0), "invalid_reference")}),
    ("updateTask", {"assignee_id": "x"}, {(B("assignee_id"), "uuid_parsing")}),
    ("updateTask", {"assignee_id": random_id()}, {(B("assignee_id"), "invalid_reference")}),
    ("updateTask", {"due_date": "2026-02-30"}, {(B("due_date"), "date_parsing")}),
    ("updateTask", {"due_date": 1}, {(B("due_date"), "invalid_type")}),
    ("updateTask", {"version": 2}, {(B("version"), "extra_forbidden")}),
    (
        "updateTask",
        {"created_at": "2026-01-01T00:00:00.000000Z"},
        {(B("created_at"), "extra_forbidden")},
    ),
    (
        "updateTask",
        {"title": "", "priority": "x", "due_date": 0},
        {
            (B("title"), "string_too_short"),
            (B("priority"), "enum"),
            (B("due_date"), "invalid_type"),
        },
    ),
    # ---------------------------------------------------------------- comments
    ("createComment", {}, {(B("body"), "missing")}),
    ("createComment", {"body": ""}, {(B("body"), "string_too_short")}),
    ("createComment", {"body": "b" * 5001}, {(B("body"), "string_too_long")}),
    ("createComment", {"body": 5}, {(B("body"), "invalid_type")}),
    ("createComment", {"body": None}, {(B("body"), "invalid_type")}),
    (
        "createComment",
        {"body": "x", "author_id": random_id()},
        {(B("author_id"), "extra_forbidden")},
    ),
    ("updateComment", {}, {(B("body"), "missing")}),
    ("updateComment", {"body": ""}, {(B("body"), "string_too_short")}),
    ("updateComment", {"body": "b" * 5001}, {(B("body"), "string_too_long")}),
    ("updateComment", {"body": None}, {(B("body"), "invalid_type")}),
    ("updateComment", {"body": "x", "task_id": random_id()}, {(B("task_id"), "extra_forbidden")}),
]


def valid_user() -> dict:
    return {"email": f"{unique('v')}@example.com", "display_name": "Valid", "password": "p" * 20}


def _materialise(w, operation, body):
    """Fill in the fixture's label id; for createUser, complete the body with valid fields
    unless the case is about the complete body ({} or one listing every field)."""

    def fill(value):
        if value == L:
            return w.label["id"]
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    body = fill(body)
    if (
        operation == "createUser"
        and body
        and not {"email", "display_name", "password"} <= set(body)
    ):
        body = {**valid_user(), **body}
    return body


@pytest.mark.parametrize(
    "operation, body, expected", CASES, ids=[f"{op}-{i}" for i, (op, _, _) in enumerate(CASES)]
)
def test_invalid_body(w, operation, body, expected):
    before = snapshot(w)
    response = send(w, operation, json=_materialise(w, operation, body))
    assert_errors(response, *expected)
    for error in response.json()["errors"]:
        assert isinstance(error["msg"], str) and error["msg"]
    assert snapshot(w) == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize(
    "body",
    [[], ["x"], "text", 42, None, True],
    ids=["list", "list1", "string", "int", "null", "bool"],
)
def test_body_that_is_not_an_object(w, operation, body):
    before = snapshot(w)
    response = send(
        w,
        operation,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_errors(response, (("body",), "invalid_type"))
    assert snapshot(w) == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_empty_body_is_missing(w, operation):
    response = send(w, operation, content=b"", headers={"Content-Type": "application/json"})
    assert_errors(response, (("body",), "missing"))


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize(
    "content",
    [
        b'{"title": ',
        b"{'single': 'quotes'}",
        b"{,}",
        b"nul",
        b'{"title": "t"} trailing',
        b"\xff\xfe",
    ],
    ids=["truncated", "single-quotes", "comma", "bad-literal", "trailing-text", "not-utf-8"],
)
def test_malformed_json_is_400(w, operation, content):
    before = snapshot(w)
    response = send(w, operation, content=content, headers={"Content-Type": "application/json"})
    assert_problem(response, 400)
    assert snapshot(w) == before


JSON_TEXT = b'{"title": "t", "name": "n", "role": "viewer"}'
NOT_JSON = {  # a media type other than application/json, with a body of that type
    "text-plain": ("text/plain", JSON_TEXT),
    "form": ("application/x-www-form-urlencoded", b"title=t&name=n&role=viewer"),
    "multipart": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nt\r\n--b--\r\n',
    ),
    "merge-patch": ("application/merge-patch+json", JSON_TEXT),
    "problem-json": ("application/problem+json", JSON_TEXT),
    "vendor-json": ("application/vnd.api+json", JSON_TEXT),
    "none": (None, JSON_TEXT),
}


@pytest.mark.parametrize("operation", ["createProject", "createTask", "updateTask", "putMember"])
@pytest.mark.parametrize("media", list(NOT_JSON))
def test_wrong_content_type_is_415(w, operation, media):
    """DECISIONS "Errors", check 4: a JSON operation takes `application/json` only (a
    `+json` suffix or a form is not it); the body is not looked at."""
    content_type, content = NOT_JSON[media]
    before = snapshot(w)
    client = client_for(w, operation)
    method, url = OPERATIONS[operation]
    headers = {"Content-Type": content_type} if content_type else {}
    request = client.build_request(method, url(w), content=content, headers=headers)
    if content_type is None:
        request.headers.pop("Content-Type", None)  # httpx adds none for bytes; be sure
    assert request.headers.get("content-type") == content_type  # what the case says is sent
    response = client.send(request)
    assert_problem(response, 415)
    assert snapshot(w) == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_content_type_with_parameters_is_accepted(w, content_type):
    response = w.owner.client.post(
        tasks_url(w.project),
        content=b'{"title": "typed"}',
        headers={"Content-Type": content_type},
    )
    created = expect(response, 201)
    assert get_json(w.owner.client, task_url(created))["title"] == "typed"


def test_wrong_content_type_beats_an_invalid_body(w):
    response = w.owner.client.post(
        tasks_url(w.project),
        content=b'{"title": ""}',
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(response, 415)


# ------------------------------------------------------------------------- query parameters

TASK_QUERY_CASES = [
    ([("status", "open")], {(("query", "status", 0), "enum")}),
    ([("status", "todo"), ("status", "nope")], {(("query", "status", 1), "enum")}),
    ([("status", "TODO")], {(("query", "status", 0), "enum")}),
    ([("priority", "p1")], {(("query", "priority", 0), "enum")}),
    (
        [("priority", "low"), ("priority", "x"), ("priority", "y")],
        {(("query", "priority", 1), "enum"), (("query", "priority", 2), "enum")},
    ),
    ([("assignee_id", "me")], {(("query", "assignee_id"), "uuid_parsing")}),
    ([("label_id", "1")], {(("query", "label_id"), "uuid_parsing")}),
    ([("due_before", "2026-02-30")], {(("query", "due_before"), "date_parsing")}),
    ([("due_before", "yesterday")], {(("query", "due_before"), "date_parsing")}),
    ([("q", "")], {(("query", "q"), "string_too_short")}),
    ([("q", "x" * 101)], {(("query", "q"), "string_too_long")}),
    ([("sort", "title")], {(("query", "sort"), "enum")}),
    ([("sort", "-title")], {(("query", "sort"), "enum")}),
    ([("sort", "Priority")], {(("query", "sort"), "enum")}),
    ([("limit", "-5")], {(("query", "limit"), "greater_than_equal")}),
    ([("limit", "1.5")], {(("query", "limit"), "int_parsing")}),
    (
        [
            ("status", "bad"),
            ("priority", "bad"),
            ("sort", "bad"),
            ("limit", "0"),
            ("due_before", "bad"),
            ("q", ""),
            ("assignee_id", "bad"),
        ],
        {
            (("query", "status", 0), "enum"),
            (("query", "priority", 0), "enum"),
            (("query", "sort"), "enum"),
            (("query", "limit"), "greater_than_equal"),
            (("query", "due_before"), "date_parsing"),
            (("query", "q"), "string_too_short"),
            (("query", "assignee_id"), "uuid_parsing"),
        },
    ),
]


@pytest.mark.parametrize(
    "params, expected", TASK_QUERY_CASES, ids=[str(i) for i in range(len(TASK_QUERY_CASES))]
)
def test_invalid_task_list_query(w, params, expected):
    assert_errors(w.owner.client.get(tasks_url(w.project), params=params), *expected)


def test_valid_boundaries_of_the_task_list_query(w, make_task):
    """Values at the edges are accepted — and applied, not ignored."""
    newer = make_task(w.project, w.owner, title="newer")
    both = [newer["id"], w.task["id"]]  # newest first
    url = tasks_url(w.project)
    for params, expected_ids, more in (
        ([("limit", "1")], both[:1], True),
        ([("limit", "100")], both, False),
        ([("q", "x" * 100)], [], False),  # no title contains it
        ([("q", "newer")], both[:1], False),
        ([("due_before", "2024-02-29")], [], False),  # neither task has a due date
        ([("unknown", "ignored")], both, False),
    ):
        page = get_json(w.owner.client, url, params)
        assert ids(page["items"]) == expected_ids, params
        assert (page["next_cursor"] is not None) == more, params


LISTS = {
    "users": lambda w: USERS_URL,
    "projects": lambda w: PROJECTS_URL,
    "tasks": lambda w: tasks_url(w.project),
    "comments": lambda w: comments_url(w.task),
    "activity": lambda w: activity_url(w.project),
}


@pytest.mark.parametrize(
    "value, error",
    [
        ("0", "greater_than_equal"),
        ("101", "less_than_equal"),
        ("abc", "int_parsing"),
        ("", "int_parsing"),
    ],
)
@pytest.mark.parametrize("name", list(LISTS))
def test_limit_bounds_on_every_list(w, name, value, error):
    assert_errors(
        w.owner.client.get(LISTS[name](w), params={"limit": value}), (("query", "limit"), error)
    )


@pytest.mark.parametrize("value, error", [("", "string_too_short"), ("q" * 101, "string_too_long")])
def test_users_q_bounds(w, value, error):
    assert_errors(w.owner.client.get(USERS_URL, params={"q": value}), (("query", "q"), error))


# ------------------------------------------------------------------------- path parameters

PATHS = [
    ("GET", "/users/{bad}", None, ["user_id"]),
    ("GET", "/projects/{bad}", None, ["project_id"]),
    ("PATCH", "/projects/{bad}", {"name": "x"}, ["project_id"]),
    ("DELETE", "/projects/{bad}", None, ["project_id"]),
    ("GET", "/projects/{bad}/members", None, ["project_id"]),
    ("PUT", "/projects/{bad}/members/{ok}", {"role": "viewer"}, ["project_id"]),
    ("PUT", "/projects/{ok}/members/{bad}", {"role": "viewer"}, ["user_id"]),
    ("PUT", "/projects/{bad}/members/{bad}", {"role": "viewer"}, ["project_id", "user_id"]),
    ("DELETE", "/projects/{ok}/members/{bad}", None, ["user_id"]),
    ("GET", "/projects/{bad}/labels", None, ["project_id"]),
    ("POST", "/projects/{bad}/labels", {"name": "x", "color": "#000000"}, ["project_id"]),
    ("DELETE", "/projects/{bad}/labels/{bad}", None, ["project_id", "label_id"]),
    ("GET", "/projects/{bad}/tasks", None, ["project_id"]),
    ("POST", "/projects/{bad}/tasks", {"title": "x"}, ["project_id"]),
    ("GET", "/tasks/{bad}", None, ["task_id"]),
    ("PATCH", "/tasks/{bad}", {"title": "x"}, ["task_id"]),
    ("DELETE", "/tasks/{bad}", None, ["task_id"]),
    ("GET", "/tasks/{bad}/comments", None, ["task_id"]),
    ("POST", "/tasks/{bad}/comments", {"body": "x"}, ["task_id"]),
    ("PATCH", "/comments/{bad}", {"body": "x"}, ["comment_id"]),
    ("DELETE", "/comments/{bad}", None, ["comment_id"]),
    ("GET", "/projects/{bad}/activity", None, ["project_id"]),
]


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
@pytest.mark.parametrize(
    "method, template, body, names", PATHS, ids=[f"{m} {t}" for m, t, _, _ in PATHS]
)
def test_path_parameter_that_is_not_a_uuid(w, method, template, body, names, bad):
    url = API + template.replace("{ok}", random_id()).replace("{bad}", bad)
    kwargs = {"json": body} if body is not None else {}
    response = w.owner.client.request(method, url, **kwargs)
    assert_errors(response, *[(("path", name), "uuid_parsing") for name in names])


def test_path_and_body_errors_are_reported_together(w):
    response = w.owner.client.patch(f"{API}/tasks/nope", json={"title": "", "status": "x"})
    assert_errors(
        response,
        (("path", "task_id"), "uuid_parsing"),
        (B("title"), "string_too_short"),
        (B("status"), "enum"),
    )


def test_path_and_query_errors_are_reported_together(w):
    response = w.owner.client.get(f"{API}/projects/nope/tasks", params={"limit": "0", "sort": "x"})
    assert_errors(
        response,
        (("path", "project_id"), "uuid_parsing"),
        (("query", "limit"), "greater_than_equal"),
        (("query", "sort"), "enum"),
    )


# ------------------------------------------------------------------------- order of checks


def test_validation_comes_before_visibility(w, people):
    outsider = people.get(1)[0]
    assert_errors(
        outsider.client.patch(task_url(w.task), json={"status": "bad"}), (B("status"), "enum")
    )
    assert_errors(
        outsider.client.post(tasks_url(w.project), json={"title": ""}),
        (B("title"), "string_too_short"),
    )
    assert_errors(
        outsider.client.post(tasks_url(random_id()), json={"title": ""}),
        (B("title"), "string_too_short"),
    )
    assert_errors(
        outsider.client.get(tasks_url(w.project), params={"limit": "0"}),
        (("query", "limit"), "greater_than_equal"),
    )


def test_validation_comes_before_permission(w, people, add_member):
    viewer = people.get(1)[0]
    add_member(w.project, w.owner, viewer, "viewer")
    assert_errors(
        viewer.client.patch(task_url(w.task), json={"priority": "x"}), (B("priority"), "enum")
    )
    assert_errors(
        viewer.client.patch(project_url(w.project), json={"name": ""}),
        (B("name"), "string_too_short"),
    )
    assert_errors(
        viewer.client.post(USERS_URL, json={}),
        (B("email"), "missing"),
        (B("display_name"), "missing"),
        (B("password"), "missing"),
    )


def test_references_are_checked_after_visibility(w, people):
    outsider = people.get(1)[0]
    assert_problem(
        outsider.client.post(tasks_url(w.project), json={"title": "t", "assignee_id": random_id()}),
        404,
    )
