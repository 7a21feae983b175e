"""Projects (createProject, listProjects, getProject, updateProject, deleteProject): create,
list, get, update, delete, roles, task counts."""

from __future__ import annotations

import pytest

from support.factories import random_id, unique
from support.pagination import walk
from support.paths import (
    PROJECTS_URL,
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
from support.wire import assert_etag, assert_timestamp, representation_etag

ZERO_COUNTS = {"todo": 0, "in_progress": 0, "done": 0}


def test_create_project(people):
    [owner] = people.get(1)
    response = owner.client.post(
        PROJECTS_URL, json={"name": "Website relaunch", "description": "Before winter."}
    )
    expect(response, 201)
    project = response.json()
    assert project == {
        "id": project["id"],
        "name": "Website relaunch",
        "description": "Before winter.",
        "created_at": project["created_at"],
        "updated_at": project["updated_at"],
        "version": 1,
        "my_role": "owner",
        "task_counts": ZERO_COUNTS,
    }
    assert_timestamp(project["created_at"])
    assert_timestamp(project["updated_at"])
    assert project["updated_at"] >= project["created_at"]
    assert response.headers["location"] == f"{PROJECTS_URL}/{project['id']}"
    created_etag = assert_etag(response)

    got = owner.client.get(project_url(project))
    expect(got, 200)
    assert got.json() == project
    assert assert_etag(got) == created_etag


def test_description_defaults_to_empty(people):
    [user] = people.get(1)
    project = user.client.post(PROJECTS_URL, json={"name": "No description"}).json()
    assert project["description"] == ""


@pytest.mark.parametrize(
    "name, description", [("x", ""), ("n" * 200, "d" * 2000), ("  spaced  ", "ünï ✓")]
)
def test_bounds_and_text_are_kept_verbatim(people, name, description):
    [owner] = people.get(1)
    response = owner.client.post(PROJECTS_URL, json={"name": name, "description": description})
    expect(response, 201)
    assert (response.json()["name"], response.json()["description"]) == (name, description)


def test_list_is_my_projects_newest_first(make_user, make_project, add_member):
    me, stranger = make_user(), make_user()
    mine = [make_project(me, name=f"mine {i}") for i in range(3)]
    theirs = make_project(stranger, name="theirs")
    shared = make_project(stranger, name="shared with me")
    add_member(shared, stranger, me, "viewer")
    make_project(stranger, name="not shared")

    listed = walk(me.client, PROJECTS_URL, limit=100)
    expected = sorted(mine + [shared], key=lambda p: (p["created_at"], p["id"]), reverse=True)
    assert [p["id"] for p in listed] == [p["id"] for p in expected]
    assert theirs["id"] not in {p["id"] for p in listed}
    by_id = {p["id"]: p for p in listed}
    assert by_id[shared["id"]]["my_role"] == "viewer"
    assert by_id[mine[0]["id"]] == get_json(me.client, project_url(mine[0]))


def test_new_user_has_no_projects(make_user):
    user = make_user()
    assert get_json(user.client, PROJECTS_URL) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
def test_my_role_is_the_callers_role(make_user, make_project, add_member, role):
    owner, member = make_user(), make_user()
    project = make_project(owner)
    add_member(project, owner, member, role)
    seen = get_json(member.client, project_url(project))
    assert seen == {**get_json(owner.client, project_url(project)), "my_role": role}


def test_update_project(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner, name="Before", description="old")
    response = owner.client.patch(project_url(project), json={"name": "After"})
    expect(response, 200)
    updated = response.json()
    assert updated == {
        **project,
        "name": "After",
        "version": 2,
        "updated_at": updated["updated_at"],
    }
    assert updated["updated_at"] > project["updated_at"]
    assert assert_etag(response) != representation_etag(project)
    assert get_json(owner.client, project_url(project)) == updated

    response = owner.client.patch(
        project_url(project), json={"description": "new", "name": "After"}
    )
    expect(response, 200)
    assert response.json()["version"] == 3
    assert response.json()["description"] == "new"
    assert response.json()["name"] == "After"


@pytest.mark.parametrize(
    "body", [{}, {"name": "Same"}, {"description": "same"}, {"name": "Same", "description": "same"}]
)
def test_patch_that_changes_nothing_does_not_bump(people, make_project, body):
    [owner] = people.get(1)
    project = make_project(owner, name="Same", description="same")
    response = owner.client.patch(project_url(project), json=body)
    expect(response, 200)
    assert response.json() == project
    assert assert_etag(response) == representation_etag(project)
    assert get_json(owner.client, project_url(project)) == project


def test_delete_project_takes_everything_with_it(
    people, make_project, make_label, make_task, make_comment
):
    [owner] = people.get(1)
    project = make_project(owner)
    label = make_label(project, owner, name="bug", color="#ff0000")
    task = make_task(project, owner, title="doomed", label_ids=[label["id"]])
    comment = make_comment(task, owner, body="also doomed")

    expect(owner.client.delete(project_url(project)), 204)
    for url in (
        project_url(project),
        tasks_url(project),
        labels_url(project),
        members_url(project),
        activity_url(project),
        task_url(task),
        comments_url(task),
    ):
        assert_problem(owner.client.get(url), 404)
    assert_problem(owner.client.patch(comment_url(comment), json={"body": "x"}), 404)
    assert_problem(owner.client.delete(project_url(project)), 404)
    assert project["id"] not in {p["id"] for p in walk(owner.client, PROJECTS_URL, limit=100)}


def test_task_counts_follow_task_statuses(people, make_project, make_task, add_member):
    owner, viewer = people.get(2)
    project = make_project(owner)
    add_member(project, owner, viewer, "viewer")
    tasks = [
        make_task(project, owner, title=f"t{i}", status=status)
        for i, status in enumerate(["todo", "todo", "in_progress", "done", "done", "done"])
    ]
    expected = {"todo": 2, "in_progress": 1, "done": 3}
    assert get_json(owner.client, project_url(project))["task_counts"] == expected
    listed = {p["id"]: p for p in walk(viewer.client, PROJECTS_URL, limit=100)}
    assert listed[project["id"]]["task_counts"] == expected

    expect(owner.client.patch(task_url(tasks[0]), json={"status": "in_progress"}), 200)
    expect(owner.client.delete(task_url(tasks[3])), 204)
    assert get_json(viewer.client, project_url(project))["task_counts"] == {
        "todo": 1,
        "in_progress": 2,
        "done": 2,
    }


def test_task_counts_do_not_bump_the_project_version(people, make_project, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    make_task(project, owner, title="t")
    assert get_json(owner.client, project_url(project))["version"] == 1


def test_project_counts_are_per_project(people, make_project, make_task):
    [owner] = people.get(1)
    one, two = make_project(owner), make_project(owner)
    make_task(one, owner, title="only in one")
    assert get_json(owner.client, project_url(one))["task_counts"] == {**ZERO_COUNTS, "todo": 1}
    assert get_json(owner.client, project_url(two))["task_counts"] == ZERO_COUNTS


# ------------------------------------------------------------------------- who may do what


@pytest.fixture
def actors(people, make_project, add_member):
    """A project and one caller per relation to it."""
    owner, viewer, editor, co_owner, outsider = people.get(5)
    project = make_project(owner, name="Guarded", description="keep out")
    callers = {
        "owner": owner,
        "viewer": viewer,
        "editor": editor,
        "co-owner": co_owner,
        "outsider": outsider,
        "admin-outsider": people.get(1, is_admin=True)[0],
    }
    for role in ("viewer", "editor"):
        add_member(project, owner, callers[role], role)
    add_member(project, owner, co_owner, "owner")
    return project, callers


ALLOWED = {"owner": True, "co-owner": True, "editor": False, "viewer": False}
ROLES = ["owner", "co-owner", "editor", "viewer", "outsider", "admin-outsider"]


def expected_status(who: str, allowed: int, role_table=ALLOWED) -> int:
    if who in ("outsider", "admin-outsider"):
        return 404
    return allowed if role_table[who] else 403


@pytest.mark.parametrize("who", ROLES)
def test_get_project_permissions(actors, who):
    project, callers = actors
    response = callers[who].client.get(project_url(project))
    if who.endswith("outsider"):
        assert_problem(response, 404)
    else:
        seen = expect(response, 200)
        assert seen == {**project, "my_role": "owner" if who == "co-owner" else who}


@pytest.mark.parametrize("who", ROLES)
def test_update_project_permissions(actors, who):
    project, callers = actors
    response = callers[who].client.patch(project_url(project), json={"name": "Renamed"})
    status = expected_status(who, 200)
    if status == 200:
        assert expect(response, 200)["name"] == "Renamed"
        assert get_json(callers["owner"].client, project_url(project))["name"] == "Renamed"
    else:
        assert_problem(response, status)
        assert get_json(callers["owner"].client, project_url(project))["name"] == "Guarded"


@pytest.mark.parametrize("who", ROLES)
def test_delete_project_permissions(actors, who):
    project, callers = actors
    response = callers[who].client.delete(project_url(project))
    status = expected_status(who, 204)
    if status == 204:
        assert expect(response, 204) is None  # no body
        assert_problem(callers["owner"].client.get(project_url(project)), 404)  # the row is gone
    else:
        assert_problem(response, status)
        expect(callers["owner"].client.get(project_url(project)), 200)


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_non_member_gets_the_same_404_as_for_a_missing_project(actors, method):
    project, callers = actors
    outsider = callers["outsider"].client
    kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
    hidden = outsider.request(method, project_url(project), **kwargs)
    missing = outsider.request(method, project_url(random_id()), **kwargs)
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)


def test_server_owned_fields_cannot_be_set(make_user):
    owner = make_user()
    response = owner.client.post(
        PROJECTS_URL,
        json={
            "name": unique("p"),
            "id": random_id(),
            "version": 7,
            "my_role": "viewer",
            "created_at": "2020-01-01T00:00:00.000000Z",
            "task_counts": ZERO_COUNTS,
        },
    )
    assert_errors(
        response,
        *[
            (("body", f), "extra_forbidden")
            for f in ("id", "version", "my_role", "created_at", "task_counts")
        ],
    )
    assert get_json(owner.client, PROJECTS_URL)["items"] == []
