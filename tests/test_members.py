"""Project members (listMembers, putMember, removeMember; contract/DECISIONS.md "Behaviour
details")."""

from __future__ import annotations

import pytest

from support.factories import random_id, unique
from support.paths import API, member_url, members_url, project_url, task_url
from support.problems import assert_problem
from support.responses import expect, get_json
from support.wire import assert_timestamp, summary


def test_creator_is_the_only_owner_at_first(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner)
    listing = get_json(owner.client, members_url(project))
    assert set(listing) == {"items"}
    [member] = listing["items"]
    assert member == {"user": summary(owner), "role": "owner", "added_at": member["added_at"]}
    assert_timestamp(member["added_at"])


def test_put_adds_then_changes_then_keeps(people, make_project):
    owner, user = people.get(2)
    project = make_project(owner)

    added = owner.client.put(member_url(project, user.id), json={"role": "viewer"})
    expect(added, 201)
    assert added.headers["location"] == f"{API}/projects/{project['id']}/members/{user.id}"
    member = added.json()
    assert member == {"user": summary(user), "role": "viewer", "added_at": member["added_at"]}
    assert_timestamp(member["added_at"])

    same = owner.client.put(member_url(project, user.id), json={"role": "viewer"})
    expect(same, 200)
    assert same.json() == member

    changed = owner.client.put(member_url(project, user.id), json={"role": "editor"})
    expect(changed, 200)
    assert changed.json() == {**member, "role": "editor"}

    listed = {m["user"]["id"]: m for m in get_json(owner.client, members_url(project))["items"]}
    assert listed[user.id] == {**member, "role": "editor"}
    assert get_json(user.client, project_url(project))["my_role"] == "editor"


def test_members_are_ordered_by_display_name_then_user_id(make_user, make_project):
    stem = unique("M")
    owner = make_user(display_name=f"{stem} owner")
    project = make_project(owner)
    people = [owner] + [
        make_user(display_name=f"{stem} {name}")
        for name in ("Zed", "alice", "Bob", "Bob", "bob", "_x")
    ]
    for person in people[1:]:
        expect(owner.client.put(member_url(project, person.id), json={"role": "viewer"}), 201)
    expected = sorted(people, key=lambda p: (p.display_name.encode(), p.id))
    listed = get_json(people[3].client, members_url(project))["items"]
    assert [m["user"]["id"] for m in listed] == [p.id for p in expected]


def test_unknown_user_is_404(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner)
    assert_problem(owner.client.put(member_url(project, random_id()), json={"role": "viewer"}), 404)
    assert len(get_json(owner.client, members_url(project))["items"]) == 1


def test_removing_a_user_who_is_not_a_member_is_404(people, make_project):
    owner, stranger = people.get(2)
    project = make_project(owner)
    assert_problem(owner.client.delete(member_url(project, stranger.id)), 404)
    assert_problem(owner.client.delete(member_url(project, random_id())), 404)


def test_remove_member(make_user, make_project, add_member):
    owner, user = make_user(), make_user()
    project = make_project(owner)
    add_member(project, owner, user, "editor")
    response = owner.client.delete(member_url(project, user.id))
    expect(response, 204)
    assert response.content == b""
    assert [m["user"]["id"] for m in get_json(owner.client, members_url(project))["items"]] == [
        owner.id
    ]
    assert_problem(user.client.get(project_url(project)), 404)
    assert project["id"] not in {
        p["id"] for p in get_json(user.client, f"{API}/projects?limit=100")["items"]
    }


def test_last_owner_cannot_be_demoted_or_removed(people, make_project):
    [owner] = people.get(1)
    project = make_project(owner)
    for role in ("editor", "viewer"):
        assert_problem(owner.client.put(member_url(project, owner.id), json={"role": role}), 409)
    assert_problem(owner.client.delete(member_url(project, owner.id)), 409)
    assert get_json(owner.client, members_url(project))["items"][0]["role"] == "owner"


def test_an_owner_may_step_down_while_another_owner_remains(people, make_project, add_member):
    first, second = people.get(2)
    project = make_project(first)
    add_member(project, first, second, "owner")

    response = first.client.put(member_url(project, first.id), json={"role": "editor"})
    expect(response, 200)
    assert response.json()["role"] == "editor"
    # The demoted caller can no longer manage members …
    assert_problem(first.client.put(member_url(project, second.id), json={"role": "viewer"}), 403)
    # … and the remaining owner is now the last one.
    assert_problem(second.client.put(member_url(project, second.id), json={"role": "viewer"}), 409)
    assert_problem(second.client.delete(member_url(project, second.id)), 409)
    # Removing a non-last owner works.
    expect(second.client.put(member_url(project, first.id), json={"role": "owner"}), 200)
    expect(second.client.delete(member_url(project, first.id)), 204)


def test_removal_clears_the_members_assignments(people, make_project, add_member, make_task):
    owner, leaver, stayer = people.get(3)
    project = make_project(owner)
    add_member(project, owner, leaver, "editor")
    add_member(project, owner, stayer, "editor")
    assigned = [
        make_task(project, owner, title=f"leaver {i}", assignee_id=leaver.id) for i in range(2)
    ]
    kept = make_task(project, owner, title="stayer", assignee_id=stayer.id)
    unassigned = make_task(project, owner, title="nobody")
    other_project = make_project(owner)
    add_member(other_project, owner, leaver, "viewer")
    elsewhere = make_task(other_project, owner, title="elsewhere", assignee_id=leaver.id)

    expect(owner.client.delete(member_url(project, leaver.id)), 204)

    for before in assigned:
        after = get_json(owner.client, task_url(before))
        assert after == {
            **before,
            "assignee": None,
            "version": before["version"] + 1,
            "updated_at": after["updated_at"],
        }
        assert after["updated_at"] > before["updated_at"]
    for untouched in (kept, unassigned):
        assert get_json(owner.client, task_url(untouched)) == untouched
    assert get_json(owner.client, task_url(elsewhere))["assignee"] == summary(leaver)


def test_removed_member_can_be_added_again(people, make_project, add_member):
    owner, user = people.get(2)
    project = make_project(owner)
    add_member(project, owner, user, "editor")
    expect(owner.client.delete(member_url(project, user.id)), 204)
    response = owner.client.put(member_url(project, user.id), json={"role": "viewer"})
    expect(response, 201)
    assert response.json()["role"] == "viewer"


# ------------------------------------------------------------------------- who may do what


@pytest.fixture
def actors(people, make_project, add_member):
    owner, viewer, editor, co_owner, outsider, target, newcomer = people.get(7)
    project = make_project(owner)
    callers = {
        "owner": owner,
        "viewer": viewer,
        "editor": editor,
        "co-owner": co_owner,
        "outsider": outsider,
        "admin-outsider": people.get(1, is_admin=True)[0],
        "newcomer": newcomer,
    }
    for role in ("viewer", "editor"):
        add_member(project, owner, callers[role], role)
    add_member(project, owner, co_owner, "owner")
    add_member(project, owner, target, "viewer")
    return project, callers, target


ROLES = ["owner", "co-owner", "editor", "viewer", "outsider", "admin-outsider"]
MANAGE = {
    "owner": 200,
    "co-owner": 200,
    "editor": 403,
    "viewer": 403,
    "outsider": 404,
    "admin-outsider": 404,
}


@pytest.mark.parametrize("who", ROLES)
def test_list_members_permissions(actors, who):
    project, callers, _ = actors
    response = callers[who].client.get(members_url(project))
    if who.endswith("outsider"):
        assert_problem(response, 404)
    else:
        expect(response, 200)
        assert len(response.json()["items"]) == 5


@pytest.mark.parametrize("who", ROLES)
def test_change_role_permissions(actors, who):
    project, callers, target = actors
    response = callers[who].client.put(member_url(project, target.id), json={"role": "editor"})
    expected = MANAGE[who]
    if expected == 200:
        assert expect(response, 200)["role"] == "editor"
    else:
        assert_problem(response, expected)
    roles = {
        m["user"]["id"]: m["role"]
        for m in get_json(callers["owner"].client, members_url(project))["items"]
    }
    assert roles[target.id] == ("editor" if expected == 200 else "viewer")


@pytest.mark.parametrize("who", ROLES)
def test_add_member_permissions(actors, who):
    project, callers, _ = actors
    newcomer = callers["newcomer"]
    response = callers[who].client.put(member_url(project, newcomer.id), json={"role": "viewer"})
    expected = 201 if MANAGE[who] == 200 else MANAGE[who]
    if expected == 201:
        assert expect(response, 201)["user"] == summary(newcomer)
        assert get_json(newcomer.client, project_url(project))["my_role"] == "viewer"
    else:
        assert_problem(response, expected)
        assert_problem(newcomer.client.get(project_url(project)), 404)


@pytest.mark.parametrize("who", ROLES)
def test_remove_member_permissions(actors, who):
    project, callers, target = actors
    response = callers[who].client.delete(member_url(project, target.id))
    expected = 204 if MANAGE[who] == 200 else MANAGE[who]
    if expected == 204:
        expect(response, 204)
        assert_problem(target.client.get(project_url(project)), 404)  # the membership is gone
        listed = get_json(callers["owner"].client, members_url(project))["items"]
        assert target.id not in {m["user"]["id"] for m in listed}
    else:
        assert_problem(response, expected)
        expect(target.client.get(project_url(project)), 200)


def test_a_viewer_cannot_promote_themselves(actors):
    project, callers, _ = actors
    viewer = callers["viewer"]
    assert_problem(viewer.client.put(member_url(project, viewer.id), json={"role": "owner"}), 403)
    assert get_json(viewer.client, project_url(project))["my_role"] == "viewer"


def test_a_member_may_not_remove_themselves_unless_owner(actors):
    project, callers, _ = actors
    editor = callers["editor"]
    assert_problem(editor.client.delete(member_url(project, editor.id)), 403)
    assert get_json(editor.client, project_url(project))["my_role"] == "editor"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_outsider_404_is_identical_to_missing_project(actors, method):
    project, callers, target = actors
    client = callers["outsider"].client
    kwargs = {"json": {"role": "viewer"}} if method == "PUT" else {}
    suffix = "" if method == "GET" else f"/{target.id}"
    hidden = client.request(method, members_url(project) + suffix, **kwargs)
    missing = client.request(method, members_url(random_id()) + suffix, **kwargs)
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)
