"""Conditional requests (contract/openapi.yaml "Conditional requests"; DECISIONS "Wire format"):
ETag, If-None-Match, If-Match — with the 1.1 ETag, a hash of the representation.

The header forms (lists, `*`, weak tags) and the order of checks; what makes the ETag change
and the races are in test_etags.py."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from support.factories import Account, random_id
from support.paths import label_url, project_url, task_url
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json
from support.wire import NEVER_MATCHES, assert_etag


@dataclass
class Resource:
    """A task or project edited once; `previous` / `current` are the ETags each caller saw
    before and after the edit (a project's ETag is per caller: my_role)."""

    kind: str
    url: str
    field: str
    owner: Account
    viewer: Account
    previous: dict[str, str]
    current: dict[str, str]

    def tags(self, who: Account) -> dict[str, str]:
        cur, old = self.current[who.id], self.previous[who.id]
        return {
            "cur": cur,
            "old": old,
            "bare": cur.strip('"'),
            "upper": cur.upper(),
            "other": '"' + random_id().replace("-", "") + '"',
        }


def _etag(who: Account, url: str) -> str:
    return assert_etag(who.client.get(url))


@pytest.fixture
def resource(request, people, make_project, add_member, make_task) -> Resource:
    kind = request.param
    owner, viewer = people.get(2)
    project = make_project(owner, name="v1")
    add_member(project, owner, viewer, "viewer")
    if kind == "task":
        url, field = task_url(make_task(project, owner, title="v1")), "title"
    else:
        url, field = project_url(project), "name"
    previous = {who.id: _etag(who, url) for who in (owner, viewer)}
    expect(owner.client.patch(url, json={field: "v2"}), 200)
    current = {who.id: _etag(who, url) for who in (owner, viewer)}
    return Resource(kind, url, field, owner, viewer, previous, current)


RESOURCES = ["task", "project"]


# ------------------------------------------------------------------------- If-None-Match


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize(
    "header", ["{cur}", "W/{cur}", "*", "{old}, {cur}", '"7", W/{cur}', "{other},{cur}"]
)
def test_if_none_match_hit_is_304_without_body(resource, header):
    viewer = resource.viewer
    response = viewer.client.get(
        resource.url, headers={"If-None-Match": header.format(**resource.tags(viewer))}
    )
    expect(response, 304)
    assert response.content == b""
    assert response.headers.get_list("etag") == [resource.current[viewer.id]]


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize(
    "header", ["{old}", "W/{old}", "{other}", "{old}, {other}", "{bare}", "{upper}", '"2"']
)
def test_if_none_match_miss_is_200_with_body(resource, header):
    viewer = resource.viewer
    response = viewer.client.get(
        resource.url, headers={"If-None-Match": header.format(**resource.tags(viewer))}
    )
    expect(response, 200)
    assert response.json()[resource.field] == "v2"
    assert assert_etag(response) == resource.current[viewer.id]


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_if_none_match_does_not_reveal_hidden_resources(resource, people):
    outsider = people.get(1)[0]
    for header in ("*", resource.current[resource.owner.id]):
        assert_problem(outsider.client.get(resource.url, headers={"If-None-Match": header}), 404)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_a_change_invalidates_the_cached_etag(resource):
    owner, viewer = resource.owner, resource.viewer
    cached = resource.current[viewer.id]
    expect(viewer.client.get(resource.url, headers={"If-None-Match": cached}), 304)
    expect(owner.client.patch(resource.url, json={resource.field: "v3"}), 200)
    response = viewer.client.get(resource.url, headers={"If-None-Match": cached})
    expect(response, 200)
    assert response.json()[resource.field] == "v3"
    assert assert_etag(response) != cached


def test_label_deletion_changes_the_task_etag(people, make_project, make_label, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    label = make_label(project, owner, name="x", color="#000000")
    task = make_task(project, owner, title="t", label_ids=[label["id"]])
    cached = _etag(owner, task_url(task))
    expect(owner.client.delete(label_url(project, label)), 204)
    response = owner.client.get(task_url(task), headers={"If-None-Match": cached})
    expect(response, 200)
    assert response.json()["labels"] == []
    assert assert_etag(response) != cached


# ------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize("header", ["{cur}", "*", "{old}, {cur}", '{cur}, "9"', "{other},{cur}"])
def test_if_match_current_allows_the_update(resource, header):
    owner = resource.owner
    response = owner.client.patch(
        resource.url,
        json={resource.field: "v3"},
        headers={"If-Match": header.format(**resource.tags(owner))},
    )
    expect(response, 200)
    assert response.json()[resource.field] == "v3"
    assert response.json()["version"] == 3
    tag = assert_etag(response)
    assert tag != resource.current[owner.id]
    assert _etag(owner, resource.url) == tag


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
@pytest.mark.parametrize(
    "header",
    ["{old}", "W/{cur}", "{other}", "{old}, {other}", "{bare}", "{upper}", '"2"', "W/{old}"],
)
def test_if_match_stale_is_412_and_nothing_changes(resource, header):
    owner = resource.owner
    before = get_json(owner.client, resource.url)
    response = owner.client.patch(
        resource.url,
        json={resource.field: "v3"},
        headers={"If-Match": header.format(**resource.tags(owner))},
    )
    assert_problem(response, 412)
    assert get_json(owner.client, resource.url) == before
    assert _etag(owner, resource.url) == resource.current[owner.id]


@pytest.mark.parametrize("resource", ["project"], indirect=True)
def test_if_match_with_another_callers_etag_is_412(resource):
    """A project's representation includes my_role: the viewer's ETag is not the owner's."""
    owner, viewer = resource.owner, resource.viewer
    assert resource.current[viewer.id] != resource.current[owner.id]
    response = owner.client.patch(
        resource.url, json={"name": "v3"}, headers={"If-Match": resource.current[viewer.id]}
    )
    assert_problem(response, 412)
    assert get_json(owner.client, resource.url)["name"] == "v2"


@pytest.mark.parametrize("resource", ["task"], indirect=True)
def test_if_match_with_another_members_task_etag_succeeds(resource):
    """A task's representation is the same for every member: so is its ETag."""
    owner, viewer = resource.owner, resource.viewer
    assert resource.current[viewer.id] == resource.current[owner.id]
    response = owner.client.patch(
        resource.url, json={"title": "v3"}, headers={"If-Match": resource.current[viewer.id]}
    )
    expect(response, 200)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_if_match_on_a_no_op_patch_that_is_stale_is_still_412(resource):
    owner = resource.owner
    response = owner.client.patch(
        resource.url, json={}, headers={"If-Match": resource.previous[owner.id]}
    )
    assert_problem(response, 412)
    current = owner.client.patch(
        resource.url, json={}, headers={"If-Match": resource.current[owner.id]}
    )
    expect(current, 200)
    assert assert_etag(current) == resource.current[owner.id]  # a no-op keeps the ETag


@pytest.mark.parametrize("resource", ["task"], indirect=True)
def test_delete_task_honours_if_match(resource):
    owner = resource.owner
    before = get_json(owner.client, resource.url)
    tags = resource.tags(owner)
    for stale in (tags["old"], f"W/{tags['cur']}", tags["other"], tags["bare"], '"2"'):
        assert_problem(owner.client.delete(resource.url, headers={"If-Match": stale}), 412)
        assert get_json(owner.client, resource.url) == before
    expect(owner.client.delete(resource.url, headers={"If-Match": tags["cur"]}), 204)
    assert_problem(owner.client.get(resource.url), 404)


@pytest.mark.parametrize("resource", ["task"], indirect=True)
def test_delete_task_with_star_if_match(resource):
    expect(resource.owner.client.delete(resource.url, headers={"If-Match": "*"}), 204)
    assert_problem(resource.owner.client.get(resource.url), 404)  # the row is gone


@pytest.mark.parametrize("resource", ["task"], indirect=True)
def test_lost_update_is_prevented(resource):
    """Two clients read the same representation; the second writer is told the first one won."""
    owner, seen = resource.owner, resource.current[resource.owner.id]
    first = owner.client.patch(resource.url, json={"status": "done"}, headers={"If-Match": seen})
    expect(first, 200)
    second = owner.client.patch(resource.url, json={"priority": "low"}, headers={"If-Match": seen})
    assert_problem(second, 412)
    final = get_json(owner.client, resource.url)
    assert (final["status"], final["priority"], final["version"]) == ("done", "medium", 3)


# ------------------------------------------------------------------------- order of checks


@pytest.mark.parametrize("resource", ["task"], indirect=True)
def test_validation_beats_a_stale_if_match(resource):
    assert_errors(
        resource.owner.client.patch(
            resource.url, json={"title": ""}, headers={"If-Match": NEVER_MATCHES}
        ),
        (("body", "title"), "string_too_short"),
    )


@pytest.mark.parametrize("resource", ["task"], indirect=True)
@pytest.mark.parametrize("assignee", ["unknown-user", "not-a-member"])
def test_references_beat_a_stale_if_match(resource, people, assignee):
    """DECISIONS "How every implementation does the same work": references 422 before
    If-Match 412."""
    owner = resource.owner
    before = get_json(owner.client, resource.url)
    assignee_id = random_id() if assignee == "unknown-user" else people.get(1)[0].id
    assert_errors(
        owner.client.patch(
            resource.url, json={"assignee_id": assignee_id}, headers={"If-Match": NEVER_MATCHES}
        ),
        (("body", "assignee_id"), "invalid_reference"),
    )
    assert get_json(owner.client, resource.url) == before


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_permission_beats_a_stale_if_match(resource):
    viewer, stale = resource.viewer, {"If-Match": NEVER_MATCHES}
    assert_problem(
        viewer.client.patch(resource.url, json={resource.field: "x"}, headers=stale), 403
    )
    if resource.kind == "task":
        assert_problem(viewer.client.delete(resource.url, headers=stale), 403)


@pytest.mark.parametrize("resource", RESOURCES, indirect=True)
def test_visibility_beats_a_stale_if_match(resource, people):
    outsider, stale = people.get(1)[0], {"If-Match": NEVER_MATCHES}
    assert_problem(
        outsider.client.patch(resource.url, json={resource.field: "x"}, headers=stale), 404
    )
