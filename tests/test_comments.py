"""Comments (listComments, createComment, updateComment, deleteComment): any member comments; the
author edits; the author or an owner deletes."""

from __future__ import annotations

import pytest

from support.factories import random_id
from support.pagination import walk
from support.paths import API, comment_url, comments_url, task_url
from support.problems import assert_problem
from support.responses import expect, get_json
from support.wire import assert_timestamp, summary


@pytest.fixture
def thread(people, make_project, add_member, make_task):
    owner, editor, viewer, outsider, author, co_owner = people.get(6)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    task = make_task(project, owner, title="Discuss me")
    callers = {
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "outsider": outsider,
        "admin-outsider": people.get(1, is_admin=True)[0],
        "author": author,
        "co-owner": co_owner,
    }
    return project, task, callers


@pytest.mark.parametrize("who", ["owner", "editor", "viewer"])
def test_any_member_can_comment(thread, who):
    project, task, callers = thread
    author = callers[who]
    response = author.client.post(comments_url(task), json={"body": f"From the {who}."})
    expect(response, 201)
    comment = response.json()
    assert comment == {
        "id": comment["id"],
        "task_id": task["id"],
        "author": summary(author),
        "body": f"From the {who}.",
        "created_at": comment["created_at"],
        "updated_at": comment["created_at"],
    }
    assert_timestamp(comment["created_at"])
    assert response.headers["location"] == comment_url(comment)
    assert walk(callers["viewer"].client, comments_url(task)) == [comment]


@pytest.mark.parametrize("who", ["outsider", "admin-outsider"])
def test_outsiders_cannot_see_or_comment(thread, who):
    project, task, callers = thread
    client = callers[who].client
    for hidden, missing in (
        (client.get(comments_url(task)), client.get(comments_url(random_id()))),
        (
            client.post(comments_url(task), json={"body": "hi"}),
            client.post(comments_url(random_id()), json={"body": "hi"}),
        ),
    ):
        assert assert_problem(hidden, 404) == assert_problem(missing, 404)
    assert walk(callers["owner"].client, comments_url(task)) == []


@pytest.mark.smoke
def test_comments_are_listed_oldest_first(thread, make_comment):
    project, task, callers = thread
    created = [
        make_comment(task, callers[who], body=f"#{i}")
        for i, who in enumerate(["viewer", "owner", "editor", "viewer", "owner"])
    ]
    expected = sorted(created, key=lambda c: (c["created_at"], c["id"]))
    assert walk(callers["editor"].client, comments_url(task), limit=2) == expected
    assert [c["body"] for c in expected] == [f"#{i}" for i in range(5)]


def test_comments_belong_to_their_task(thread, make_task, make_comment):
    project, task, callers = thread
    other = make_task(project, callers["owner"], title="Other")
    mine = make_comment(task, callers["owner"], body="here")
    make_comment(other, callers["owner"], body="there")
    assert walk(callers["owner"].client, comments_url(task)) == [mine]


@pytest.mark.parametrize("body", ["x", "b" * 5000, "multi\nline ✓"])
def test_body_bounds_are_accepted(thread, body):
    project, task, callers = thread
    response = callers["viewer"].client.post(comments_url(task), json={"body": body})
    expect(response, 201)
    assert response.json()["body"] == body


# ------------------------------------------------------------------------- edit


@pytest.mark.smoke
def test_author_edits_a_comment(thread, make_comment):
    project, task, callers = thread
    comment = make_comment(task, callers["viewer"], body="before")
    response = callers["viewer"].client.patch(comment_url(comment), json={"body": "after"})
    expect(response, 200)
    edited = response.json()
    assert edited == {**comment, "body": "after", "updated_at": edited["updated_at"]}
    assert edited["updated_at"] > comment["updated_at"]
    assert walk(callers["owner"].client, comments_url(task)) == [edited]


def test_edit_with_the_same_body_changes_nothing(thread, make_comment):
    project, task, callers = thread
    comment = make_comment(task, callers["editor"], body="same")
    response = callers["editor"].client.patch(comment_url(comment), json={"body": "same"})
    expect(response, 200)
    assert response.json() == comment


@pytest.mark.parametrize(
    "who, status",
    [
        ("owner", 403),
        ("editor", 403),
        ("viewer", 403),
        ("outsider", 404),
        ("admin-outsider", 404),
    ],
)
def test_only_the_author_may_edit(thread, add_member, make_comment, who, status):
    project, task, callers = thread
    author = callers["author"]
    add_member(project, callers["owner"], author, "viewer")
    comment = make_comment(task, author, body="mine")
    assert_problem(
        callers[who].client.patch(comment_url(comment), json={"body": "hijacked"}), status
    )
    assert walk(author.client, comments_url(task)) == [comment]


def test_author_who_left_the_project_cannot_edit(thread, add_member, make_comment):
    project, task, callers = thread
    author = callers["author"]
    add_member(project, callers["owner"], author, "viewer")
    comment = make_comment(task, author, body="mine")
    expect(
        callers["owner"].client.delete(f"{API}/projects/{project['id']}/members/{author.id}"), 204
    )
    assert_problem(author.client.patch(comment_url(comment), json={"body": "x"}), 404)
    assert_problem(author.client.delete(comment_url(comment)), 404)


def test_outsider_404_is_identical_to_missing_comment(thread, make_comment):
    project, task, callers = thread
    comment = make_comment(task, callers["owner"], body="hidden")
    client = callers["outsider"].client
    for method, kwargs in (("PATCH", {"json": {"body": "x"}}), ("DELETE", {})):
        hidden = client.request(method, comment_url(comment), **kwargs)
        missing = client.request(method, comment_url(random_id()), **kwargs)
        assert assert_problem(hidden, 404) == assert_problem(missing, 404)


# ------------------------------------------------------------------------- delete


@pytest.mark.parametrize(
    "who, status",
    [
        ("author", 204),
        ("owner", 204),
        ("co-owner", 204),
        ("editor", 403),
        ("viewer", 403),
        ("outsider", 404),
        ("admin-outsider", 404),
    ],
)
def test_delete_by_author_or_owner_only(thread, add_member, make_comment, who, status):
    project, task, callers = thread
    author = callers["author"]
    add_member(project, callers["owner"], author, "editor")
    if who == "co-owner":
        add_member(project, callers["owner"], callers["co-owner"], "owner")
    comment = make_comment(task, author, body="delete me?")
    response = callers[who].client.delete(comment_url(comment))
    if status == 204:
        expect(response, 204)
        assert response.content == b""
        assert walk(author.client, comments_url(task)) == []
        assert_problem(author.client.patch(comment_url(comment), json={"body": "x"}), 404)
        assert_problem(author.client.delete(comment_url(comment)), 404)
        assert get_json(author.client, task_url(task))["comment_count"] == 0
    else:
        assert_problem(response, status)
        assert walk(author.client, comments_url(task)) == [comment]


def test_owner_who_is_the_author_deletes(thread, make_comment):
    project, task, callers = thread
    comment = make_comment(task, callers["owner"], body="own")
    expect(callers["owner"].client.delete(comment_url(comment)), 204)
    assert walk(callers["owner"].client, comments_url(task)) == []  # the row is gone


def test_a_new_comment_does_not_change_the_task_version(thread, make_comment):
    project, task, callers = thread
    make_comment(task, callers["viewer"], body="x")
    after = get_json(callers["viewer"].client, task_url(task))
    assert after == {**task, "comment_count": 1}
