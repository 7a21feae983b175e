"""Conditional requests (contract/openapi.yaml "Conditional requests";
DECISIONS "Wire format"): ETag, If-None-Match, If-Match."""

from __future__ import annotations

import pytest

from support.factories import random_id
from support.paths import API, PROJECTS_URL, project_url, task_url, tasks_url
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json
from support.wire import etag


@pytest.fixture
def task_at_v2(people, make_project, add_member, make_task):
    owner, viewer = people.get(2)
    project = make_project(owner)
    add_member(project, owner, viewer, "viewer")
    task = make_task(project, owner, title="v1")
    response = owner.client.patch(task_url(task), json={"title": "v2"})
    expect(response, 200)
    return owner, viewer, project, response.json()


@pytest.fixture
def project_at_v2(people, make_project, add_member):
    owner, viewer = people.get(2)
    project = make_project(owner, name="v1")
    add_member(project, owner, viewer, "viewer")
    response = owner.client.patch(project_url(project), json={"name": "v2"})
    expect(response, 200)
    return owner, viewer, response.json()


# ------------------------------------------------------------------------- ETag


def test_etag_is_the_quoted_version_everywhere(people):
    owner = people.get(1)[0]
    created = owner.client.post(PROJECTS_URL, json={"name": "e"})
    assert created.headers["etag"] == etag(1)
    project = created.json()
    assert owner.client.get(project_url(project)).headers["etag"] == etag(1)
    patched = owner.client.patch(project_url(project), json={"name": "e2"})
    assert patched.headers["etag"] == etag(2) == etag(patched.json()["version"])

    created = owner.client.post(tasks_url(project), json={"title": "t"})
    assert created.headers["etag"] == etag(1)
    task = created.json()
    for version in (2, 3):
        patched = owner.client.patch(task_url(task), json={"title": f"t{version}"})
        assert patched.headers["etag"] == etag(version)
    got = owner.client.get(task_url(task))
    assert got.headers["etag"] == etag(3) == etag(got.json()["version"])


# ------------------------------------------------------------------------- If-None-Match

RESOURCES = ["task", "project"]


@pytest.fixture
def resource(request, people, make_project, add_member, make_task):
    kind = request.param
    owner, viewer = people.get(2)
    project = make_project(owner, name="v1")
    add_member(project, owner, viewer, "viewer")
    if kind == "task":
        task = make_task(project, owner, title="v1")
        url = task_url(task)
        body = {"title": "v2"}
    else:
        url = project_url(project)
        body = {"name": "v2"}
    expect(owner.client.patch(url, json=body), 200)
    return owner, viewer, url


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize("header", ['"2"', 'W/"2"', "*", '"1", "2"', '"7", W/"2"'])
def test_if_none_match_hit_is_304_without_body(resource, header):
    owner, viewer, url = resource
    response = viewer.client.get(url, headers={"If-None-Match": header})
    expect(response, 304)
    assert response.content == b""
    assert response.headers["etag"] == etag(2)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize("header", ['"1"', 'W/"1"', '"3"', '"1", "3"', '"02"', "2"])
def test_if_none_match_miss_is_200_with_body(resource, header):
    owner, viewer, url = resource
    response = viewer.client.get(url, headers={"If-None-Match": header})
    expect(response, 200)
    assert response.json()["version"] == 2
    assert response.headers["etag"] == etag(2)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_if_none_match_does_not_reveal_hidden_resources(resource, people):
    owner, viewer, url = resource
    assert_problem(people.get(1)[0].client.get(url, headers={"If-None-Match": "*"}), 404)


def test_a_change_invalidates_the_cached_etag(task_at_v2):
    owner, viewer, project, task = task_at_v2
    expect(viewer.client.get(task_url(task), headers={"If-None-Match": etag(2)}), 304)
    expect(owner.client.patch(task_url(task), json={"status": "done"}), 200)
    response = viewer.client.get(task_url(task), headers={"If-None-Match": etag(2)})
    expect(response, 200)
    assert response.json()["status"] == "done"
    assert response.headers["etag"] == etag(3)


def test_label_deletion_changes_the_task_etag(people, make_project, make_label, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    label = make_label(project, owner, name="x", color="#000000")
    task = make_task(project, owner, title="t", label_ids=[label["id"]])
    expect(owner.client.delete(f"{project_url(project)}/labels/{label['id']}"), 204)
    response = owner.client.get(task_url(task), headers={"If-None-Match": etag(1)})
    expect(response, 200)
    assert response.headers["etag"] == etag(2)


# ------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize("header", ['"2"', "*", '"1", "2"', '"2", "9"'])
def test_if_match_current_allows_the_update(resource, header):
    owner, viewer, url = resource
    field = "title" if url.startswith(f"{API}/tasks") else "name"
    response = owner.client.patch(url, json={field: "v3"}, headers={"If-Match": header})
    expect(response, 200)
    assert response.json()[field] == "v3"
    assert response.json()["version"] == 3
    assert response.headers["etag"] == etag(3)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize(
    "header",
    [pytest.param('"1"', marks=pytest.mark.smoke), '"3"', 'W/"2"', '"1", "3"', "2", '"02"'],
)
def test_if_match_stale_is_412_and_nothing_changes(resource, header):
    owner, viewer, url = resource
    field = "title" if url.startswith(f"{API}/tasks") else "name"
    before = get_json(owner.client, url)
    response = owner.client.patch(url, json={field: "v3"}, headers={"If-Match": header})
    assert_problem(response, 412)
    assert get_json(owner.client, url) == before


def test_if_match_on_a_no_op_patch_that_is_stale_is_still_412(task_at_v2):
    owner, viewer, project, task = task_at_v2
    response = owner.client.patch(task_url(task), json={}, headers={"If-Match": etag(1)})
    assert_problem(response, 412)


def test_delete_task_honours_if_match(task_at_v2):
    owner, viewer, project, task = task_at_v2
    assert_problem(owner.client.delete(task_url(task), headers={"If-Match": etag(1)}), 412)
    assert get_json(owner.client, task_url(task)) == task
    assert_problem(owner.client.delete(task_url(task), headers={"If-Match": 'W/"2"'}), 412)
    expect(owner.client.delete(task_url(task), headers={"If-Match": etag(2)}), 204)
    assert_problem(owner.client.get(task_url(task)), 404)


def test_delete_task_with_star_if_match(task_at_v2):
    owner, viewer, project, task = task_at_v2
    expect(owner.client.delete(task_url(task), headers={"If-Match": "*"}), 204)
    assert_problem(owner.client.get(task_url(task)), 404)  # the row is gone


def test_lost_update_is_prevented(task_at_v2):
    """Two clients read version 2; the second writer is told the first one won."""
    owner, viewer, project, task = task_at_v2
    first = owner.client.patch(
        task_url(task), json={"status": "done"}, headers={"If-Match": etag(2)}
    )
    expect(first, 200)
    second = owner.client.patch(
        task_url(task), json={"priority": "low"}, headers={"If-Match": etag(2)}
    )
    assert_problem(second, 412)
    final = get_json(owner.client, task_url(task))
    assert (final["status"], final["priority"], final["version"]) == ("done", "medium", 3)


# ------------------------------------------------------------------------- order of checks


def test_validation_beats_a_stale_if_match(task_at_v2):
    owner, viewer, project, task = task_at_v2
    assert_errors(
        owner.client.patch(task_url(task), json={"title": ""}, headers={"If-Match": etag(1)}),
        (("body", "title"), "string_too_short"),
    )


@pytest.mark.parametrize("assignee", ["unknown-user", "not-a-member"])
def test_references_beat_a_stale_if_match(task_at_v2, people, assignee):
    """DECISIONS "How every implementation does the same work": references 422 before
    If-Match 412."""
    owner, viewer, project, task = task_at_v2
    assignee_id = random_id() if assignee == "unknown-user" else people.get(1)[0].id
    assert_errors(
        owner.client.patch(
            task_url(task), json={"assignee_id": assignee_id}, headers={"If-Match": etag(1)}
        ),
        (("body", "assignee_id"), "invalid_reference"),
    )
    assert get_json(owner.client, task_url(task)) == task


def test_permission_beats_a_stale_if_match(task_at_v2, project_at_v2):
    owner, viewer, project, task = task_at_v2
    assert_problem(
        viewer.client.patch(task_url(task), json={"title": "x"}, headers={"If-Match": etag(1)}), 403
    )
    assert_problem(viewer.client.delete(task_url(task), headers={"If-Match": etag(1)}), 403)
    owner_p, viewer_p, project_p = project_at_v2
    assert_problem(
        viewer_p.client.patch(
            project_url(project_p), json={"name": "x"}, headers={"If-Match": etag(1)}
        ),
        403,
    )


def test_visibility_beats_a_stale_if_match(task_at_v2, people):
    owner, viewer, project, task = task_at_v2
    outsider = people.get(1)[0]
    assert_problem(
        outsider.client.patch(task_url(task), json={"title": "x"}, headers={"If-Match": etag(1)}),
        404,
    )
