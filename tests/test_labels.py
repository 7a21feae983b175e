"""Labels (listLabels, createLabel, deleteLabel; DECISIONS "Behaviour details"): create, list by
name, case-insensitive uniqueness, deletion off tasks."""

from __future__ import annotations

import pytest

from support.factories import random_id
from support.paths import API, label_url, labels_url, task_url, tasks_url
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json


def test_create_label(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner)
    response = owner.client.post(labels_url(project), json={"name": "bug", "color": "#d73A4a"})
    expect(response, 201)
    label = response.json()
    assert label == {"id": label["id"], "name": "bug", "color": "#d73A4a"}  # color kept as given
    assert response.headers["location"] == f"{API}/projects/{project['id']}/labels/{label['id']}"
    assert get_json(owner.client, labels_url(project)) == {"items": [label]}


@pytest.mark.parametrize("name", ["x", "n" * 50, "needs review", "ünïcødé"])
def test_label_name_bounds(people, make_project, name):
    [owner] = people.get(1)
    project = make_project(owner)
    response = owner.client.post(labels_url(project), json={"name": name, "color": "#000000"})
    expect(response, 201)
    assert response.json()["name"] == name


def test_labels_are_listed_by_name_then_id(people, make_project, make_label):
    [owner] = people.get(1)
    project = make_project(owner)
    created = [
        make_label(project, owner, name=name, color="#123456")
        for name in ("beta", "Alpha", "alpha-2", "_meta", "Zulu", "0-first", "beta2")
    ]
    expected = sorted(created, key=lambda label: (label["name"].encode(), label["id"]))
    assert get_json(owner.client, labels_url(project))["items"] == expected


@pytest.mark.parametrize("second", ["bug", "BUG", "Bug", "bUg"])
def test_duplicate_name_in_any_case_is_409(people, make_project, make_label, second):
    [owner] = people.get(1)
    project = make_project(owner)
    first = make_label(project, owner, name="bug", color="#ff0000")
    assert_problem(
        owner.client.post(labels_url(project), json={"name": second, "color": "#00ff00"}), 409
    )
    assert get_json(owner.client, labels_url(project))["items"] == [first]


def test_same_name_in_another_project_is_fine(people, make_project, make_label):
    [owner] = people.get(1)
    one, two = make_project(owner), make_project(owner)
    first = make_label(one, owner, name="bug", color="#ff0000")
    second = expect(
        owner.client.post(labels_url(two), json={"name": "BUG", "color": "#ff0000"}), 201
    )
    assert get_json(owner.client, labels_url(one))["items"] == [first]
    assert get_json(owner.client, labels_url(two))["items"] == [second]


def test_delete_label_takes_it_off_tasks(people, make_project, make_label, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    doomed = make_label(project, owner, name="doomed", color="#ff0000")
    kept = make_label(project, owner, name="kept", color="#00ff00")
    both = make_task(project, owner, title="both", label_ids=[doomed["id"], kept["id"]])
    only_doomed = make_task(project, owner, title="only doomed", label_ids=[doomed["id"]])
    only_kept = make_task(project, owner, title="only kept", label_ids=[kept["id"]])

    response = owner.client.delete(label_url(project, doomed))
    expect(response, 204)
    assert response.content == b""
    assert get_json(owner.client, labels_url(project))["items"] == [kept]

    for before, labels in ((both, [kept]), (only_doomed, [])):
        after = get_json(owner.client, task_url(before))
        assert after == {
            **before,
            "labels": labels,
            "version": before["version"] + 1,
            "updated_at": after["updated_at"],
        }
        assert after["updated_at"] > before["updated_at"]
    assert get_json(owner.client, task_url(only_kept)) == only_kept
    listed = get_json(
        owner.client,
        tasks_url(project),
    )["items"]
    assert all(doomed["id"] not in [label["id"] for label in t["labels"]] for t in listed)


def test_deleted_label_cannot_be_used_or_filtered_by(people, make_project, make_label, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    label = make_label(project, owner, name="gone", color="#ff0000")
    make_task(project, owner, title="was labelled", label_ids=[label["id"]])
    by_label = {"label_id": label["id"]}
    assert len(get_json(owner.client, tasks_url(project), by_label)["items"]) == 1
    expect(owner.client.delete(label_url(project, label)), 204)
    assert get_json(owner.client, tasks_url(project), by_label) == {
        "items": [],
        "next_cursor": None,
    }
    assert_errors(
        owner.client.post(tasks_url(project), json={"title": "t", "label_ids": [label["id"]]}),
        (("body", "label_ids", 0), "invalid_reference"),
    )
    assert_problem(owner.client.delete(label_url(project, label)), 404)


def test_label_of_another_project_cannot_be_deleted_through_this_one(
    people, make_project, make_label
):
    [owner] = people.get(1)
    one, two = make_project(owner), make_project(owner)
    label = make_label(one, owner, name="mine", color="#ff0000")
    assert_problem(owner.client.delete(label_url(two, label)), 404)
    assert get_json(owner.client, labels_url(one))["items"] == [label]


def test_unknown_label_is_404(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner)
    assert_problem(owner.client.delete(label_url(project, random_id())), 404)
    assert_errors(
        owner.client.delete(label_url(project, "nope")), (("path", "label_id"), "uuid_parsing")
    )


@pytest.mark.parametrize("color", ["#12345", "123456", "#GGGGGG", "#1234567", "red", "#12 456", ""])
def test_color_must_be_rrggbb(people, make_project, color):
    [owner] = people.get(1)
    project = make_project(owner)
    assert_errors(
        owner.client.post(labels_url(project), json={"name": "c", "color": color}),
        (("body", "color"), "string_pattern_mismatch"),
    )
    assert get_json(owner.client, labels_url(project))["items"] == []


# ------------------------------------------------------------------------- who may do what


@pytest.fixture
def actors(people, make_project, add_member, make_label):
    owner, viewer, editor, outsider = people.get(4)
    project = make_project(owner)
    callers = {
        "owner": owner,
        "viewer": viewer,
        "editor": editor,
        "outsider": outsider,
        "admin-outsider": people.get(1, is_admin=True)[0],
    }
    for role in ("viewer", "editor"):
        add_member(project, owner, callers[role], role)
    label = make_label(project, owner, name="existing", color="#abcdef")
    return project, callers, label


ROLES = ["owner", "editor", "viewer", "outsider", "admin-outsider"]
WRITE = {"owner": True, "editor": True, "viewer": False}


def expected(who: str, ok: int) -> int:
    if who.endswith("outsider"):
        return 404
    return ok if WRITE[who] else 403


@pytest.mark.parametrize("who", ROLES)
def test_list_labels_permissions(actors, who):
    project, callers, label = actors
    response = callers[who].client.get(labels_url(project))
    if who.endswith("outsider"):
        assert_problem(response, 404)
    else:
        expect(response, 200)
        assert response.json() == {"items": [label]}


@pytest.mark.parametrize("who", ROLES)
def test_create_label_permissions(actors, who):
    project, callers, label = actors
    response = callers[who].client.post(
        labels_url(project), json={"name": "new", "color": "#000000"}
    )
    status = expected(who, 201)
    if status == 201:
        created = expect(response, 201)
        assert get_json(callers["owner"].client, labels_url(project))["items"] == [label, created]
    else:
        assert_problem(response, status)
        assert get_json(callers["owner"].client, labels_url(project))["items"] == [label]


@pytest.mark.parametrize("who", ROLES)
def test_delete_label_permissions(actors, who):
    project, callers, label = actors
    response = callers[who].client.delete(label_url(project, label))
    status = expected(who, 204)
    if status == 204:
        expect(response, 204)
        assert get_json(callers["owner"].client, labels_url(project))["items"] == []  # gone
    else:
        assert_problem(response, status)
        assert get_json(callers["owner"].client, labels_url(project))["items"] == [label]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_outsider_404_is_identical_to_missing_project(actors, method):
    project, callers, label = actors
    client = callers["outsider"].client
    kwargs = {"json": {"name": "n", "color": "#000000"}} if method == "POST" else {}
    suffix = f"/{label['id']}" if method == "DELETE" else ""
    hidden = client.request(method, labels_url(project) + suffix, **kwargs)
    missing = client.request(method, labels_url(random_id()) + suffix, **kwargs)
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)
