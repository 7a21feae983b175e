"""Tasks (createTask, getTask, updateTask, deleteTask): create with defaults, read, patch
semantics, delete, roles, comment_count."""

from __future__ import annotations

import pytest

from support.factories import random_id
from support.pagination import ids
from support.paths import comment_url, comments_url, task_url, tasks_url
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json
from support.wire import assert_etag, assert_timestamp, representation_etag, summary


@pytest.fixture
def board(people, make_project, add_member, make_label):
    """A project with an owner, an editor, a viewer and three labels."""
    owner, editor, viewer = people.get(3)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    labels = {
        name: make_label(project, owner, name=name, color="#336699")
        for name in ("frontend", "Bug", "backend")
    }
    return project, owner, editor, viewer, labels


def test_create_with_defaults(board):
    project, owner, editor, _, _ = board
    response = editor.client.post(tasks_url(project), json={"title": "Write the announcement"})
    expect(response, 201)
    task = response.json()
    assert task == {
        "id": task["id"],
        "project_id": project["id"],
        "title": "Write the announcement",
        "description": "",
        "status": "todo",
        "priority": "medium",
        "assignee": None,
        "labels": [],
        "due_date": None,
        "created_by": summary(editor),
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
        "version": 1,
        "comment_count": 0,
    }
    assert_timestamp(task["created_at"])
    assert_timestamp(task["updated_at"])
    assert response.headers["location"] == task_url(task)
    created_etag = assert_etag(response)

    got = owner.client.get(task_url(task))
    expect(got, 200)
    assert got.json() == task
    assert assert_etag(got) == created_etag


def test_create_with_every_field(board):
    project, owner, editor, _, labels = board
    body = {
        "title": "Fix the checkout button",
        "description": "Safari 18 only.",
        "status": "in_progress",
        "priority": "urgent",
        "assignee_id": editor.id,
        "due_date": "2026-12-01",
        "label_ids": [labels["frontend"]["id"], labels["Bug"]["id"], labels["backend"]["id"]],
    }
    response = owner.client.post(tasks_url(project), json=body)
    expect(response, 201)
    task = response.json()
    assert task["title"] == body["title"]
    assert task["description"] == body["description"]
    assert (task["status"], task["priority"], task["due_date"]) == (
        "in_progress",
        "urgent",
        "2026-12-01",
    )
    assert task["assignee"] == summary(editor)
    assert task["created_by"] == summary(owner)
    # Labels are embedded by name (byte order: "Bug" < "backend" < "frontend").
    assert task["labels"] == [labels["Bug"], labels["backend"], labels["frontend"]]
    assert get_json(editor.client, task_url(task)) == task


def test_explicit_nulls_and_empty_lists_are_the_defaults(board):
    project, owner, _, _, _ = board
    response = owner.client.post(
        tasks_url(project),
        json={
            "title": "t",
            "assignee_id": None,
            "due_date": None,
            "label_ids": [],
            "description": "",
        },
    )
    expect(response, 201)
    task = response.json()
    assert (task["assignee"], task["due_date"], task["labels"]) == (None, None, [])


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "x"),
        ("title", "t" * 200),
        ("description", "d" * 10000),
        ("status", "todo"),
        ("status", "in_progress"),
        ("status", "done"),
        ("priority", "low"),
        ("priority", "medium"),
        ("priority", "high"),
        ("priority", "urgent"),
        ("due_date", "2024-02-29"),
        ("due_date", "1999-12-31"),
    ],
)
def test_each_valid_value_is_stored(board, field, value):
    project, owner, _, _, _ = board
    body = {"title": "base", field: value}
    task = owner.client.post(tasks_url(project), json=body)
    expect(task, 201)
    assert task.json()[field] == value
    assert get_json(owner.client, task_url(task.json()))[field] == value


def test_assignee_may_be_any_member_including_a_viewer(board):
    project, owner, _, viewer, _ = board
    response = owner.client.post(tasks_url(project), json={"title": "t", "assignee_id": viewer.id})
    expect(response, 201)
    assert response.json()["assignee"] == summary(viewer)


def test_assignee_who_is_not_a_member_is_invalid_reference(board, people):
    project, owner, _, _, _ = board
    [stranger] = people.get(1)
    for assignee in (stranger.id, random_id()):
        assert_errors(
            owner.client.post(tasks_url(project), json={"title": "t", "assignee_id": assignee}),
            (("body", "assignee_id"), "invalid_reference"),
        )
    assert get_json(owner.client, tasks_url(project))["items"] == []


def test_labels_must_belong_to_the_project(board, make_project, make_label):
    project, owner, _, _, labels = board
    other = make_project(owner)
    foreign = make_label(other, owner, name="foreign", color="#000000")
    response = owner.client.post(
        tasks_url(project),
        json={"title": "t", "label_ids": [labels["Bug"]["id"], foreign["id"], random_id()]},
    )
    assert_errors(
        response,
        (("body", "label_ids", 1), "invalid_reference"),
        (("body", "label_ids", 2), "invalid_reference"),
    )
    assert get_json(owner.client, tasks_url(project))["items"] == []


def test_every_bad_reference_is_listed(board, people):
    [stranger] = people.get(1)
    project, owner, _, _, labels = board
    response = owner.client.post(
        tasks_url(project),
        json={
            "title": "t",
            "assignee_id": stranger.id,
            "label_ids": [random_id(), labels["Bug"]["id"]],
        },
    )
    assert_errors(
        response,
        (("body", "assignee_id"), "invalid_reference"),
        (("body", "label_ids", 0), "invalid_reference"),
    )


def test_twenty_labels_are_allowed(people, make_project, make_label):
    [owner] = people.get(1)
    project = make_project(owner)
    labels = [make_label(project, owner, name=f"l{i:02d}", color="#000000") for i in range(20)]
    response = owner.client.post(
        tasks_url(project),
        json={"title": "t", "label_ids": [label["id"] for label in reversed(labels)]},
    )
    expect(response, 201)
    assert response.json()["labels"] == labels


# ------------------------------------------------------------------------- PATCH semantics


@pytest.fixture
def full_task(board, make_task):
    project, owner, editor, viewer, labels = board
    task = make_task(
        project,
        owner,
        title="Original",
        description="desc",
        status="todo",
        priority="low",
        assignee_id=editor.id,
        due_date="2026-06-01",
        label_ids=[labels["Bug"]["id"], labels["frontend"]["id"]],
    )
    return board, task


def _patched(before, **fields):
    return {**before, **fields}


@pytest.mark.parametrize(
    "change",
    [
        "title",
        "description",
        "status",
        "priority",
        "assignee",
        "unassign",
        "due_date",
        "clear_due_date",
        "labels",
        "clear_labels",
    ],
)
def test_patch_changes_only_the_given_field(full_task, change):
    (project, owner, editor, viewer, labels), task = full_task
    body, expected = {
        "title": ({"title": "Renamed"}, {"title": "Renamed"}),
        "description": ({"description": ""}, {"description": ""}),
        "status": ({"status": "done"}, {"status": "done"}),
        "priority": ({"priority": "urgent"}, {"priority": "urgent"}),
        "assignee": ({"assignee_id": viewer.id}, {"assignee": summary(viewer)}),
        "unassign": ({"assignee_id": None}, {"assignee": None}),
        "due_date": ({"due_date": "2027-01-31"}, {"due_date": "2027-01-31"}),
        "clear_due_date": ({"due_date": None}, {"due_date": None}),
        "labels": ({"label_ids": [labels["backend"]["id"]]}, {"labels": [labels["backend"]]}),
        "clear_labels": ({"label_ids": []}, {"labels": []}),
    }[change]
    response = editor.client.patch(task_url(task), json=body)
    expect(response, 200)
    updated = response.json()
    assert updated == {**task, **expected, "version": 2, "updated_at": updated["updated_at"]}
    assert updated["updated_at"] > task["updated_at"]
    assert assert_etag(response) != representation_etag(task)
    assert get_json(viewer.client, task_url(task)) == updated


def test_patch_several_fields_at_once(full_task):
    (project, owner, editor, viewer, labels), task = full_task
    response = owner.client.patch(
        task_url(task),
        json={
            "status": "in_progress",
            "assignee_id": None,
            "label_ids": [labels["frontend"]["id"], labels["backend"]["id"]],
            "title": "Both",
        },
    )
    expect(response, 200)
    updated = response.json()
    assert updated == {
        **task,
        "status": "in_progress",
        "assignee": None,
        "title": "Both",
        "labels": [labels["backend"], labels["frontend"]],
        "version": 2,
        "updated_at": updated["updated_at"],
    }
    assert updated["created_by"] == summary(owner)
    assert updated["created_at"] == task["created_at"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "Original"},
        {"status": "todo", "priority": "low"},
        {"due_date": "2026-06-01"},
        {"description": "desc"},
        "same-assignee",
        "same-labels-reordered",
    ],
)
def test_patch_that_changes_nothing_is_200_without_a_bump(full_task, body):
    (project, owner, editor, viewer, labels), task = full_task
    if body == "same-assignee":
        body = {"assignee_id": editor.id}
    elif body == "same-labels-reordered":
        body = {"label_ids": [labels["frontend"]["id"], labels["Bug"]["id"]]}
    response = editor.client.patch(task_url(task), json=body)
    expect(response, 200)
    assert response.json() == task
    assert assert_etag(response) == representation_etag(task)
    assert get_json(owner.client, task_url(task)) == task


def test_successive_patches_bump_each_time(full_task):
    (project, owner, *_), task = full_task
    for version, status in enumerate(["in_progress", "done", "todo"], start=2):
        response = owner.client.patch(task_url(task), json={"status": status})
        assert response.json()["version"] == version
    assert get_json(owner.client, task_url(task))["version"] == 4


def test_patch_rejects_bad_references_and_changes_nothing(
    full_task, people, make_project, make_label
):
    [stranger] = people.get(1)
    (project, owner, *_), task = full_task
    other = make_project(owner)
    foreign = make_label(other, owner, name="foreign", color="#000000")
    assert_errors(
        owner.client.patch(task_url(task), json={"assignee_id": stranger.id, "title": "nope"}),
        (("body", "assignee_id"), "invalid_reference"),
    )
    assert_errors(
        owner.client.patch(task_url(task), json={"label_ids": [foreign["id"]], "title": "nope"}),
        (("body", "label_ids", 0), "invalid_reference"),
    )
    assert get_json(owner.client, task_url(task)) == task


def test_task_cannot_move_between_projects(full_task, make_project):
    (project, owner, *_), task = full_task
    other = make_project(owner)
    assert_errors(
        owner.client.patch(task_url(task), json={"project_id": other["id"]}),
        (("body", "project_id"), "extra_forbidden"),
    )


# ------------------------------------------------------------------------- delete


def test_delete_task(full_task, make_comment):
    (project, owner, editor, viewer, _), task = full_task
    comment = make_comment(task, viewer, body="hello")
    response = editor.client.delete(task_url(task))
    expect(response, 204)
    assert response.content == b""
    assert_problem(owner.client.get(task_url(task)), 404)
    assert_problem(owner.client.patch(task_url(task), json={"title": "x"}), 404)
    assert_problem(owner.client.delete(task_url(task)), 404)
    assert_problem(owner.client.get(comments_url(task)), 404)
    assert_problem(owner.client.post(comments_url(task), json={"body": "x"}), 404)
    assert_problem(viewer.client.patch(comment_url(comment), json={"body": "x"}), 404)
    assert task["id"] not in {t["id"] for t in get_json(owner.client, tasks_url(project))["items"]}


# ------------------------------------------------------------------------- comment_count


def test_comment_count_follows_comments(full_task, make_comment):
    (project, owner, editor, viewer, _), task = full_task
    comments = [
        make_comment(task, who, body=f"c{i}") for i, who in enumerate((owner, viewer, viewer))
    ]
    assert get_json(owner.client, task_url(task))["comment_count"] == 3
    listed = {t["id"]: t for t in get_json(owner.client, tasks_url(project))["items"]}
    assert listed[task["id"]]["comment_count"] == 3
    expect(viewer.client.delete(comment_url(comments[1])), 204)
    assert get_json(owner.client, task_url(task))["comment_count"] == 2


def test_list_items_equal_the_single_resource(board, make_task, make_comment):
    project, owner, editor, viewer, labels = board
    tasks = [
        make_task(
            project,
            owner,
            title=f"t{i}",
            assignee_id=editor.id if i % 2 else None,
            label_ids=[labels["Bug"]["id"]] if i % 3 else [],
        )
        for i in range(4)
    ]
    make_comment(tasks[1], viewer, body="x")
    listed = get_json(viewer.client, tasks_url(project))["items"]
    assert listed == [get_json(viewer.client, task_url(t)) for t in reversed(tasks)]


# ------------------------------------------------------------------------- who may do what

ROLES = ["owner", "editor", "viewer", "outsider", "admin-outsider"]
WRITE = {"owner": True, "editor": True, "viewer": False}


@pytest.fixture
def actors(full_task, people):
    (project, owner, editor, viewer, labels), task = full_task
    callers = {
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "outsider": people.get(1)[0],
        "admin-outsider": people.get(1, is_admin=True)[0],
    }
    return project, task, callers


def expected(who: str, ok: int, write: bool) -> int:
    if who.endswith("outsider"):
        return 404
    return ok if (WRITE[who] or not write) else 403


@pytest.mark.parametrize("who", ROLES)
def test_list_and_get_permissions(actors, who):
    project, task, callers = actors
    client = callers[who].client
    listed, got = client.get(tasks_url(project)), client.get(task_url(task))
    status = expected(who, 200, write=False)
    if status == 200:
        assert ids(expect(listed, 200)["items"]) == [task["id"]]
        assert expect(got, 200) == task
    else:
        assert_problem(listed, status)
        assert_problem(got, status)


@pytest.mark.parametrize("who", ROLES)
def test_create_permissions(actors, who):
    project, task, callers = actors
    response = callers[who].client.post(tasks_url(project), json={"title": "by " + who})
    status = expected(who, 201, write=True)
    if status == 201:
        created = expect(response, 201)
        assert created["created_by"] == summary(callers[who])
        listed = get_json(callers["owner"].client, tasks_url(project))["items"]
        assert ids(listed) == [created["id"], task["id"]]
    else:
        assert_problem(response, status)
        listed = get_json(callers["owner"].client, tasks_url(project))["items"]
        assert ids(listed) == [task["id"]]


@pytest.mark.parametrize("who", ROLES)
def test_update_permissions(actors, who):
    project, task, callers = actors
    response = callers[who].client.patch(task_url(task), json={"title": "by " + who})
    status = expected(who, 200, write=True)
    if status == 200:
        assert expect(response, 200)["title"] == "by " + who
        assert get_json(callers["owner"].client, task_url(task)) == response.json()
    else:
        assert_problem(response, status)
        assert get_json(callers["owner"].client, task_url(task)) == task


@pytest.mark.parametrize("who", ROLES)
def test_delete_permissions(actors, who):
    project, task, callers = actors
    response = callers[who].client.delete(task_url(task))
    status = expected(who, 204, write=True)
    if status == 204:
        expect(response, 204)
        assert_problem(callers["owner"].client.get(task_url(task)), 404)  # the row is gone
        assert get_json(callers["owner"].client, tasks_url(project))["items"] == []
    else:
        assert_problem(response, status)
        assert get_json(callers["owner"].client, task_url(task)) == task


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_outsider_404_is_identical_to_missing_task(actors, method):
    project, task, callers = actors
    client = callers["outsider"].client
    kwargs = {"json": {"title": "x"}} if method == "PATCH" else {}
    hidden = client.request(method, task_url(task), **kwargs)
    missing = client.request(method, task_url(random_id()), **kwargs)
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_outsider_404_on_the_task_list_is_identical_to_missing_project(actors, method):
    project, task, callers = actors
    client = callers["outsider"].client
    kwargs = {"json": {"title": "x"}} if method == "POST" else {}
    hidden = client.request(method, tasks_url(project), **kwargs)
    missing = client.request(method, tasks_url(random_id()), **kwargs)
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)


def test_permission_is_checked_before_references(actors, people):
    [stranger] = people.get(1)
    project, task, callers = actors
    response = callers["viewer"].client.post(
        tasks_url(project), json={"title": "t", "assignee_id": stranger.id}
    )
    assert_problem(response, 403)
    response = callers["viewer"].client.patch(task_url(task), json={"label_ids": [random_id()]})
    assert_problem(response, 403)
