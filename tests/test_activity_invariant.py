"""The activity invariant (contract 1.1; DECISIONS "Behaviour details"): every change of a task's
`version` has a `task.updated` entry, in the same transaction. Member removal writes one
`{"assignee_id": [user_id, null]}` per task it unassigns and label deletion one
`{"label_ids": [old, new]}` per task it takes the label off — in task id order, then
`member.removed` / `label.deleted`. Comments change a task's representation, not its version.

Everything is read through the API: the task's `version` and the project's activity list."""

from __future__ import annotations

from typing import Any

import pytest

from support.activity import added_since, assert_invariant, entry_shape, task_updates
from support.factories import random_id
from support.pagination import activity
from support.paths import comment_url, comments_url, label_url, member_url, task_url
from support.problems import assert_problem
from support.responses import expect, get_json
from support.wire import NEVER_MATCHES


def tasks_out_of_id_order(make_task, project, owner, count: int) -> list[dict[str, Any]]:
    """`count` or more tasks whose creation order is not their id order, so that "in task id
    order" cannot be met by creation (or insertion) order by chance."""
    tasks = [make_task(project, owner, title=f"task {i}") for i in range(count)]
    while [t["id"] for t in tasks] == sorted(t["id"] for t in tasks):
        tasks.append(make_task(project, owner, title=f"task {len(tasks)}"))
    return tasks


# ------------------------------------------------------------------------ across every operation


def test_version_bumps_equal_task_updated_entries_across_every_operation(
    people, make_project, add_member, make_label, make_task
):
    owner, editor, viewer = people.get(3)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    a, b, c = (make_label(project, owner, name=n)["id"] for n in ("a", "b", "c"))
    task = make_task(project, editor, assignee_id=editor.id, label_ids=[a])
    other = make_task(project, owner, assignee_id=viewer.id, label_ids=[c])
    ids = [task["id"], other["id"]]
    url = task_url(task)
    e, o, v = editor.client, owner.client, viewer.client

    # (what, the request, its status, the expected bump of [task, other])
    steps = [
        ("title", lambda: e.patch(url, json={"title": "renamed"}), 200, [1, 0]),
        (
            "several fields",
            lambda: e.patch(url, json={"status": "done", "priority": "low"}),
            200,
            [1, 0],
        ),
        ("label set", lambda: e.patch(url, json={"label_ids": [b, a]}), 200, [1, 0]),
        ("due date", lambda: o.patch(url, json={"due_date": "2030-01-01"}), 200, [1, 0]),
        (
            "no-op",
            lambda: e.patch(url, json={"title": "renamed", "label_ids": [a, b]}),
            200,
            [0, 0],
        ),
        ("empty patch", lambda: e.patch(url, json={}), 200, [0, 0]),
        (
            "stale If-Match",
            lambda: e.patch(url, json={"title": "x"}, headers={"If-Match": NEVER_MATCHES}),
            412,
            [0, 0],
        ),
        ("invalid", lambda: e.patch(url, json={"title": "", "status": "nope"}), 422, [0, 0]),
        ("bad reference", lambda: e.patch(url, json={"assignee_id": random_id()}), 422, [0, 0]),
        ("forbidden", lambda: v.patch(url, json={"title": "x"}), 403, [0, 0]),
        ("comment", lambda: v.post(comments_url(task), json={"body": "hello"}), 201, [0, 0]),
        ("label not on the task deleted", lambda: o.delete(label_url(project, c)), 204, [0, 1]),
        ("label on the task deleted", lambda: e.delete(label_url(project, b)), 204, [1, 0]),
        (
            "role change",
            lambda: o.put(member_url(project, viewer.id), json={"role": "editor"}),
            200,
            None,
        ),
        (
            "assign to the viewer",
            lambda: o.patch(url, json={"assignee_id": viewer.id}),
            200,
            [1, 0],
        ),
        ("unassign", lambda: o.patch(url, json={"assignee_id": None}), 200, [1, 0]),
        ("reassign", lambda: o.patch(url, json={"assignee_id": editor.id}), 200, [1, 0]),
        ("non-assignee removed", lambda: o.delete(member_url(project, viewer.id)), 204, [0, 1]),
        ("assignee removed", lambda: o.delete(member_url(project, editor.id)), 204, [1, 0]),
        ("after the removals", lambda: o.patch(url, json={"status": "todo"}), 200, [1, 0]),
    ]
    versions = assert_invariant(o, project, ids)
    for what, request, status, bumps in steps:
        response = request()
        if status < 400:
            expect(response, status)
        else:
            assert_problem(response, status)
        now = assert_invariant(o, project, ids)
        if bumps is not None:
            assert [now[i] - versions[i] for i in ids] == bumps, what
        versions = now
    assert versions[task["id"]] == 11  # created at 1, then ten bumps


def test_comments_never_bump_the_version(people, make_project, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    task = make_task(project, owner)
    comment = expect(owner.client.post(comments_url(task), json={"body": "one"}), 201)
    expect(owner.client.patch(comment_url(comment), json={"body": "two"}), 200)
    expect(owner.client.delete(comment_url(comment)), 204)
    assert assert_invariant(owner.client, project, [task["id"]]) == {task["id"]: 1}
    verbs = [e["verb"] for e in activity(owner.client, project["id"])]
    assert verbs[:3] == ["comment.deleted", "comment.updated", "comment.created"]


# ------------------------------------------------------------------------ member removal


def test_member_removal_records_each_unassignment_in_task_id_order(
    people, make_project, add_member, make_task
):
    owner, leaver, stayer, remover = people.get(4)
    project = make_project(owner)
    add_member(project, owner, leaver, "editor")
    add_member(project, owner, stayer, "editor")
    add_member(project, owner, remover, "owner")
    assigned = tasks_out_of_id_order(make_task, project, owner, 4)
    # Assigned newest id first, so neither update order nor creation order is id order.
    for task in sorted(assigned, key=lambda t: t["id"], reverse=True):
        expect(owner.client.patch(task_url(task), json={"assignee_id": leaver.id}), 200)
    kept = make_task(project, owner, assignee_id=stayer.id)
    nobody = make_task(project, owner)
    elsewhere_project = make_project(owner)
    add_member(elsewhere_project, owner, leaver, "viewer")
    elsewhere = make_task(elsewhere_project, owner, assignee_id=leaver.id)
    elsewhere_activity = activity(owner.client, elsewhere_project["id"])
    before = {t["id"]: get_json(owner.client, task_url(t)) for t in [*assigned, kept, nobody]}
    entries_before = activity(owner.client, project["id"])

    expect(remover.client.delete(member_url(project, leaver.id)), 204)

    added = added_since(entries_before, activity(owner.client, project["id"]))
    expected = [
        ("task.updated", "task", task_id, {"assignee_id": [leaver.id, None]}, remover.id)
        for task_id in sorted(t["id"] for t in assigned)
    ] + [("member.removed", "member", leaver.id, {}, remover.id)]
    assert entry_shape(added) == expected
    for task in assigned:
        after = get_json(owner.client, task_url(task))
        assert after["version"] == before[task["id"]]["version"] + 1
        assert after["assignee"] is None
        assert after["updated_at"] > before[task["id"]]["updated_at"]
    for task in (kept, nobody):
        assert get_json(owner.client, task_url(task)) == before[task["id"]]
    assert_invariant(owner.client, project, list(before))
    assert get_json(owner.client, task_url(elsewhere))["version"] == elsewhere["version"]
    assert activity(owner.client, elsewhere_project["id"]) == elsewhere_activity


def test_removing_a_member_without_assignments_records_only_member_removed(
    people, make_project, add_member, make_task
):
    owner, leaver, stayer = people.get(3)
    project = make_project(owner)
    add_member(project, owner, leaver, "viewer")
    add_member(project, owner, stayer, "editor")
    task = make_task(project, owner, assignee_id=stayer.id)
    before = activity(owner.client, project["id"])
    expect(owner.client.delete(member_url(project, leaver.id)), 204)
    added = added_since(before, activity(owner.client, project["id"]))
    assert entry_shape(added) == [("member.removed", "member", leaver.id, {}, owner.id)]
    assert get_json(owner.client, task_url(task)) == task


# ------------------------------------------------------------------------ label deletion


@pytest.mark.parametrize("deleter", ["owner", "editor"])
def test_label_deletion_records_each_task_in_task_id_order(
    people, make_project, add_member, make_label, make_task, deleter
):
    owner, editor = people.get(2)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    doomed, b, c = (make_label(project, owner, name=n)["id"] for n in ("doomed", "b", "c"))
    affected = tasks_out_of_id_order(make_task, project, owner, 4)
    others = [[], [b], [b, c], [doomed, b], [c, doomed, b]]
    old_labels: dict[str, list[str]] = {}
    # Labelled newest id first, each with a different set around the doomed label.
    for i, task in enumerate(sorted(affected, key=lambda t: t["id"], reverse=True)):
        labels = others[i % len(others)]
        labels = labels if doomed in labels else [*labels, doomed]
        expect(owner.client.patch(task_url(task), json={"label_ids": labels}), 200)
        old_labels[task["id"]] = sorted(labels)
    untouched = [make_task(project, owner, label_ids=[b, c]), make_task(project, owner)]
    before = {t["id"]: get_json(owner.client, task_url(t)) for t in [*affected, *untouched]}
    entries_before = activity(owner.client, project["id"])
    caller = owner if deleter == "owner" else editor

    expect(caller.client.delete(label_url(project, doomed)), 204)

    added = added_since(entries_before, activity(owner.client, project["id"]))
    expected = [
        (
            "task.updated",
            "task",
            task_id,
            {"label_ids": [old_labels[task_id], [x for x in old_labels[task_id] if x != doomed]]},
            caller.id,
        )
        for task_id in sorted(old_labels)
    ] + [("label.deleted", "label", doomed, {}, caller.id)]
    assert entry_shape(added) == expected
    for task in affected:
        after = get_json(owner.client, task_url(task))
        assert after["version"] == before[task["id"]]["version"] + 1
        assert doomed not in [label["id"] for label in after["labels"]]
        assert after["updated_at"] > before[task["id"]]["updated_at"]
    for task in untouched:
        assert get_json(owner.client, task_url(task)) == before[task["id"]]
    assert_invariant(owner.client, project, list(before))


def test_deleting_a_label_on_no_task_records_only_label_deleted(
    people, make_project, make_label, make_task
):
    [owner] = people.get(1)
    project = make_project(owner)
    unused, used = make_label(project, owner), make_label(project, owner)
    task = make_task(project, owner, label_ids=[used["id"]])
    before = activity(owner.client, project["id"])
    expect(owner.client.delete(label_url(project, unused)), 204)
    added = added_since(before, activity(owner.client, project["id"]))
    assert entry_shape(added) == [("label.deleted", "label", unused["id"], {}, owner.id)]
    assert get_json(owner.client, task_url(task)) == task


def test_a_task_update_entry_per_bump_even_for_a_task_touched_by_both(
    people, make_project, add_member, make_label, make_task
):
    """One task unassigned by a member removal and unlabelled by a label deletion: two bumps,
    two entries, each with only its own change."""
    owner, member = people.get(2)
    project = make_project(owner)
    add_member(project, owner, member, "editor")
    label = make_label(project, owner)
    task = make_task(project, owner, assignee_id=member.id, label_ids=[label["id"]])
    expect(owner.client.delete(member_url(project, member.id)), 204)
    expect(owner.client.delete(label_url(project, label)), 204)
    updates = task_updates(activity(owner.client, project["id"]), task["id"])
    assert [u["changes"] for u in updates] == [
        {"label_ids": [[label["id"]], []]},
        {"assignee_id": [member.id, None]},
    ]
    assert assert_invariant(owner.client, project, [task["id"]]) == {task["id"]: 3}
