"""Activity (listActivity; contract/DECISIONS.md "Behaviour details"): one entry per change, in
the same transaction, newest first."""

from __future__ import annotations

import pytest

from support.activity import entry_shape
from support.factories import random_id
from support.pagination import activity
from support.paths import (
    PROJECTS_URL,
    activity_url,
    comment_url,
    comments_url,
    labels_url,
    member_url,
    project_url,
    task_url,
    tasks_url,
)
from support.problems import assert_problem
from support.responses import expect, get_json
from support.wire import NEVER_MATCHES, assert_timestamp, summary


def test_every_verb_is_recorded(people):
    owner, editor, viewer = people.get(3)
    o, e, v = owner.client, editor.client, viewer.client
    expected = []  # oldest first; reversed at the end

    project = o.post(PROJECTS_URL, json={"name": "Audit", "description": "d"}).json()
    pid = project["id"]
    expected.append(("project.created", "project", pid, {}, owner.id))

    expect(o.patch(project_url(pid), json={"name": "Audited", "description": "d"}), 200)
    expected.append(("project.updated", "project", pid, {"name": ["Audit", "Audited"]}, owner.id))
    expect(o.patch(project_url(pid), json={"description": "longer"}), 200)
    expected.append(("project.updated", "project", pid, {"description": ["d", "longer"]}, owner.id))

    expect(o.put(member_url(pid, editor.id), json={"role": "viewer"}), 201)
    expected.append(("member.added", "member", editor.id, {}, owner.id))
    expect(o.put(member_url(pid, editor.id), json={"role": "editor"}), 200)
    expected.append(
        ("member.updated", "member", editor.id, {"role": ["viewer", "editor"]}, owner.id)
    )
    expect(o.put(member_url(pid, editor.id), json={"role": "editor"}), 200)  # same role: nothing
    expect(o.put(member_url(pid, viewer.id), json={"role": "viewer"}), 201)
    expected.append(("member.added", "member", viewer.id, {}, owner.id))

    label_a = e.post(labels_url(pid), json={"name": "a", "color": "#000000"}).json()
    expected.append(("label.created", "label", label_a["id"], {}, editor.id))
    label_b = e.post(labels_url(pid), json={"name": "b", "color": "#ffffff"}).json()
    expected.append(("label.created", "label", label_b["id"], {}, editor.id))

    task = e.post(tasks_url(pid), json={"title": "T", "label_ids": [label_a["id"]]}).json()
    expected.append(("task.created", "task", task["id"], {}, editor.id))

    expect(
        e.patch(
            task_url(task),
            json={
                "title": "T2",
                "status": "in_progress",
                "priority": "high",
                "assignee_id": viewer.id,
                "due_date": "2026-12-24",
                "label_ids": [label_b["id"], label_a["id"]],
                "description": "",
            },
        ),
        200,
    )
    expected.append(
        (
            "task.updated",
            "task",
            task["id"],
            {
                "title": ["T", "T2"],
                "status": ["todo", "in_progress"],
                "priority": ["medium", "high"],
                "assignee_id": [None, viewer.id],
                "due_date": [None, "2026-12-24"],
                "label_ids": [[label_a["id"]], sorted([label_a["id"], label_b["id"]])],
            },
            editor.id,
        )
    )

    expect(
        o.patch(task_url(task), json={"assignee_id": None, "due_date": None, "description": "x"}),
        200,
    )
    expected.append(
        (
            "task.updated",
            "task",
            task["id"],
            {
                "assignee_id": [viewer.id, None],
                "due_date": ["2026-12-24", None],
                "description": ["", "x"],
            },
            owner.id,
        )
    )

    comment = v.post(comments_url(task), json={"body": "first"}).json()
    expected.append(("comment.created", "comment", comment["id"], {}, viewer.id))
    expect(v.patch(comment_url(comment), json={"body": "edited"}), 200)
    expected.append(
        ("comment.updated", "comment", comment["id"], {"body": ["first", "edited"]}, viewer.id)
    )
    expect(o.delete(comment_url(comment)), 204)
    expected.append(("comment.deleted", "comment", comment["id"], {}, owner.id))

    # Off the task too: the task's version bump has its task.updated (the activity invariant).
    expect(e.delete(f"{project_url(pid)}/labels/{label_a['id']}"), 204)
    both = sorted([label_a["id"], label_b["id"]])
    expected.append(
        ("task.updated", "task", task["id"], {"label_ids": [both, [label_b["id"]]]}, editor.id)
    )
    expected.append(("label.deleted", "label", label_a["id"], {}, editor.id))

    expect(e.delete(task_url(task)), 204)
    expected.append(("task.deleted", "task", task["id"], {}, editor.id))

    expect(o.delete(member_url(pid, viewer.id)), 204)
    expected.append(("member.removed", "member", viewer.id, {}, owner.id))

    entries = activity(e, pid)
    assert entry_shape(entries) == list(reversed(expected))

    actors = {owner.id: summary(owner), editor.id: summary(editor), viewer.id: summary(viewer)}
    for entry in entries:
        assert set(entry) == {
            "id",
            "project_id",
            "actor",
            "verb",
            "target_type",
            "target_id",
            "changes",
            "created_at",
        }
        assert entry["project_id"] == pid
        assert entry["actor"] == actors[entry["actor"]["id"]]
        assert_timestamp(entry["created_at"])
    assert len({entry["id"] for entry in entries}) == len(entries)
    timestamps = [entry["created_at"] for entry in entries]
    assert timestamps == sorted(timestamps, reverse=True)


def test_label_ids_changes_are_sorted_lists(people, make_project, make_label, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    labels = [make_label(project, owner, name=f"l{i}", color="#000000")["id"] for i in range(4)]
    task = make_task(project, owner, title="t", label_ids=[labels[3], labels[0], labels[2]])
    new = [labels[1], labels[3]]
    expect(owner.client.patch(task_url(task), json={"label_ids": list(reversed(new))}), 200)
    changes = activity(owner.client, project["id"])[0]["changes"]
    assert changes == {"label_ids": [sorted([labels[0], labels[2], labels[3]]), sorted(new)]}


def test_project_creation_records_only_project_created(people):
    [owner] = people.get(1)
    project = owner.client.post(PROJECTS_URL, json={"name": "p"}).json()
    entries = activity(owner.client, project["id"])
    assert entry_shape(entries) == [("project.created", "project", project["id"], {}, owner.id)]


# ---------------------------------------------------------- nothing is recorded for non-changes


@pytest.fixture
def audited(people, make_project, add_member, make_label, make_task, make_comment):
    owner, editor, viewer, stranger = people.get(4)
    project = make_project(owner, name="Quiet", description="q")
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    label = make_label(project, owner, name="bug", color="#ff0000")
    task = make_task(
        project,
        editor,
        title="t",
        assignee_id=viewer.id,
        due_date="2026-01-01",
        label_ids=[label["id"]],
    )
    comment = make_comment(task, viewer, body="c")
    return {
        "project": project,
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "label": label,
        "task": task,
        "comment": comment,
        "stranger": stranger,
    }


NON_CHANGES = {
    # no-op writes
    "task-noop": lambda w: w["editor"].client.patch(
        task_url(w["task"]),
        json={
            "title": "t",
            "assignee_id": w["viewer"].id,
            "due_date": "2026-01-01",
            "label_ids": [w["label"]["id"]],
        },
    ),
    "task-empty-patch": lambda w: w["editor"].client.patch(task_url(w["task"]), json={}),
    "project-noop": lambda w: w["owner"].client.patch(
        project_url(w["project"]), json={"name": "Quiet"}
    ),
    "member-same-role": lambda w: w["owner"].client.put(
        member_url(w["project"], w["viewer"].id), json={"role": "viewer"}
    ),
    "comment-noop": lambda w: w["viewer"].client.patch(
        comment_url(w["comment"]), json={"body": "c"}
    ),
    # failures
    "task-422": lambda w: w["editor"].client.patch(
        task_url(w["task"]), json={"title": "", "status": "nope"}
    ),
    "task-422-reference": lambda w: w["editor"].client.patch(
        task_url(w["task"]), json={"title": "new", "assignee_id": random_id()}
    ),
    "task-412": lambda w: w["editor"].client.patch(
        task_url(w["task"]), json={"title": "new"}, headers={"If-Match": NEVER_MATCHES}
    ),
    "task-delete-412": lambda w: w["editor"].client.delete(
        task_url(w["task"]), headers={"If-Match": NEVER_MATCHES}
    ),
    "task-403": lambda w: w["viewer"].client.patch(task_url(w["task"]), json={"title": "new"}),
    "task-create-403": lambda w: w["viewer"].client.post(
        tasks_url(w["project"]), json={"title": "new"}
    ),
    "task-create-422": lambda w: w["editor"].client.post(
        tasks_url(w["project"]), json={"title": "new", "label_ids": [random_id()]}
    ),
    "task-404": lambda w: w["stranger"].client.patch(task_url(w["task"]), json={"title": "new"}),
    "project-412": lambda w: w["owner"].client.patch(
        project_url(w["project"]), json={"name": "new"}, headers={"If-Match": NEVER_MATCHES}
    ),
    "project-403": lambda w: w["editor"].client.patch(
        project_url(w["project"]), json={"name": "new"}
    ),
    "label-409": lambda w: w["editor"].client.post(
        labels_url(w["project"]), json={"name": "BUG", "color": "#000000"}
    ),
    "label-403": lambda w: w["viewer"].client.post(
        labels_url(w["project"]), json={"name": "new", "color": "#000000"}
    ),
    "last-owner-409": lambda w: w["owner"].client.delete(member_url(w["project"], w["owner"].id)),
    "member-403": lambda w: w["editor"].client.put(
        member_url(w["project"], w["stranger"].id), json={"role": "viewer"}
    ),
    "comment-403": lambda w: w["owner"].client.patch(
        comment_url(w["comment"]), json={"body": "owner edit"}
    ),
    "comment-delete-403": lambda w: w["editor"].client.delete(comment_url(w["comment"])),
    "comment-422": lambda w: w["viewer"].client.post(comments_url(w["task"]), json={"body": ""}),
}
EXPECTED_STATUS = {
    "task-noop": 200,
    "task-empty-patch": 200,
    "project-noop": 200,
    "member-same-role": 200,
    "comment-noop": 200,
    "task-422": 422,
    "task-422-reference": 422,
    "task-412": 412,
    "task-delete-412": 412,
    "task-403": 403,
    "task-create-403": 403,
    "task-create-422": 422,
    "task-404": 404,
    "project-412": 412,
    "project-403": 403,
    "label-409": 409,
    "label-403": 403,
    "last-owner-409": 409,
    "member-403": 403,
    "comment-403": 403,
    "comment-delete-403": 403,
    "comment-422": 422,
}


@pytest.mark.parametrize("case", list(NON_CHANGES))
def test_requests_that_change_nothing_record_nothing(audited, case):
    w = audited
    before = activity(w["owner"].client, w["project"]["id"])
    task_before = get_json(w["owner"].client, task_url(w["task"]))
    response = NON_CHANGES[case](w)
    status = EXPECTED_STATUS[case]
    if status == 200:
        expect(response, 200)
    else:
        assert_problem(response, status)
    assert activity(w["owner"].client, w["project"]["id"]) == before
    assert get_json(w["owner"].client, task_url(w["task"])) == task_before


# ------------------------------------------------------------------------- visibility


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
def test_every_member_reads_the_activity(people, make_project, add_member, role):
    owner, member = people.get(2)
    project = make_project(owner)
    add_member(project, owner, member, role)
    seen = activity(member.client, project["id"])
    assert [entry["verb"] for entry in seen] == ["member.added", "project.created"]
    assert seen == activity(owner.client, project["id"])


@pytest.mark.parametrize("who", ["stranger", "admin"])
def test_outsiders_get_404(make_user, people, make_project, who):
    [owner] = people.get(1)
    outsider = make_user(is_admin=(who == "admin"))
    project = make_project(owner)
    hidden = outsider.client.get(activity_url(project))
    missing = outsider.client.get(activity_url(random_id()))
    assert assert_problem(hidden, 404) == assert_problem(missing, 404)


def test_activity_is_per_project(people, make_project, make_task):
    [owner] = people.get(1)
    one, two = make_project(owner), make_project(owner)
    make_task(one, owner, title="only in one")
    assert [e["verb"] for e in activity(owner.client, two["id"])] == ["project.created"]
    assert [e["verb"] for e in activity(owner.client, one["id"])] == [
        "task.created",
        "project.created",
    ]


def test_removed_member_loses_access_to_the_activity(people, make_project, add_member):
    owner, member = people.get(2)
    project = make_project(owner)
    add_member(project, owner, member, "viewer")
    expect(owner.client.delete(member_url(project, member.id)), 204)
    assert_problem(member.client.get(activity_url(project)), 404)
