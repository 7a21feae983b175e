"""Representation ETags (contract 1.1; DECISIONS "Wire format", "Locks"): the ETag of a project
or task is `"` + the first 32 hex digits of SHA-256 over the canonical JSON of the body the
caller receives + `"`, so it changes exactly when the representation does — a new comment
(`comment_count`), a task write (the project's `task_counts`), the caller's role (`my_role`) —
and `If-Match` is compared under the write's lock.

The expected ETag is computed here from each response body (support.wire, written from the
DECISIONS text), never taken from the implementation."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from support.locks import row_locked, send_together, wait_for_lock_waiters
from support.pagination import activity
from support.paths import (
    PROJECTS_URL,
    comment_url,
    comments_url,
    label_url,
    project_url,
    task_url,
    tasks_url,
)
from support.problems import assert_problem
from support.responses import expect, get_json
from support.wire import ETAG_PATTERN, assert_etag, canonical_json, representation_etag

# ------------------------------------------------------------------------ the oracle itself


def test_the_oracle_follows_the_decisions_text() -> None:
    """Keys sorted, `,` and `:` without whitespace, non-ASCII as UTF-8, the first 32 hex digits."""
    body = {"b": "ü ✓", "a": [1, None, True, {"d": "\n", "c": '"'}], "é": 0}
    expected = '{"a":[1,null,true,{"c":"\\"","d":"\\n"}],"b":"ü ✓","é":0}'.encode()
    assert canonical_json(body) == expected
    digest = hashlib.sha256(expected).hexdigest()
    assert representation_etag(body) == f'"{digest[:32]}"'
    assert ETAG_PATTERN.fullmatch(representation_etag(body))
    assert representation_etag(dict(reversed(body.items()))) == representation_etag(body)


# ------------------------------------------------------------------------ the hash of the body

TEXTS = {
    "ascii": ("Plain title", "plain description"),
    "non-ascii": ("Ünïcödé ✓ 日本語 🚀", "ça va — “quotes” and 𝄞"),
    "escapes": ('Quote " and back\\slash', "line\nbreak\ttab\r\u2028\u2029\x01 </script> & <"),
}


@pytest.mark.parametrize("text", list(TEXTS))
def test_every_etag_is_the_hash_of_the_representation(
    people, make_project, add_member, make_label, text
):
    """createProject, getProject, updateProject, createTask, getTask, updateTask and the 304:
    each ETag is the oracle's hash of the body the caller got (its canonical JSON — not the
    bytes a serializer happened to write)."""
    title, description = TEXTS[text]
    owner, editor = people.get(2)
    created = owner.client.post(PROJECTS_URL, json={"name": title, "description": description})
    expect(created, 201)
    project = created.json()
    created_tag = assert_etag(created)
    got = owner.client.get(project_url(project))
    assert assert_etag(got) == created_tag
    add_member(project, owner, editor, "editor")
    label = make_label(project, owner, name=title[:50], color="#AbCdEf")

    task_created = editor.client.post(
        tasks_url(project),
        json={
            "title": title,
            "description": description,
            "assignee_id": owner.id,
            "due_date": "2031-02-28",
            "priority": "urgent",
            "label_ids": [label["id"]],
        },
    )
    expect(task_created, 201)
    task_tag = assert_etag(task_created)
    assert assert_etag(owner.client.get(task_url(task_created.json()))) == task_tag
    patched = editor.client.patch(
        task_url(task_created.json()), json={"description": description + "!", "due_date": None}
    )
    expect(patched, 200)
    assert assert_etag(patched) != task_tag
    not_modified = owner.client.get(
        task_url(task_created.json()), headers={"If-None-Match": patched.headers["etag"]}
    )
    expect(not_modified, 304)
    assert not_modified.headers.get_list("etag") == [patched.headers["etag"]]

    renamed = owner.client.patch(project_url(project), json={"description": title})
    expect(renamed, 200)
    project_tag = assert_etag(renamed)
    assert project_tag not in (created_tag, assert_etag(got))
    fresh = owner.client.get(project_url(project))
    assert assert_etag(fresh) == project_tag  # one task since: task_counts unchanged by the PATCH
    assert_etag(editor.client.get(project_url(project)))


def test_a_304_carries_the_current_etag(people, make_project, make_task, make_comment):
    [owner] = people.get(1)
    project = make_project(owner)
    task = make_task(project, owner)
    for step in range(3):
        current = owner.client.get(task_url(task))
        tag = assert_etag(current)
        response = owner.client.get(task_url(task), headers={"If-None-Match": f'W/{tag}, "x"'})
        expect(response, 304)
        assert response.content == b""
        assert response.headers.get_list("etag") == [tag]
        make_comment(task, owner, body=f"comment {step}")  # the next round's ETag differs


# ------------------------------------------------------------------------ what changes it


def test_a_new_comment_changes_the_task_etag(people, make_project, add_member, make_task):
    owner, commenter = people.get(2)
    project = make_project(owner)
    add_member(project, owner, commenter, "viewer")
    task = make_task(project, owner, title="discussed")
    cached = assert_etag(commenter.client.get(task_url(task)))

    comment = expect(commenter.client.post(comments_url(task), json={"body": "first"}), 201)
    response = commenter.client.get(task_url(task), headers={"If-None-Match": cached})
    expect(response, 200)  # a stale If-None-Match gets the new representation
    body = response.json()
    assert (body["comment_count"], body["version"]) == (1, task["version"])
    after_comment = assert_etag(response)
    assert after_comment != cached
    expect(commenter.client.get(task_url(task), headers={"If-None-Match": after_comment}), 304)

    expect(commenter.client.post(comments_url(task), json={"body": "second"}), 201)
    second = owner.client.get(task_url(task), headers={"If-None-Match": after_comment})
    expect(second, 200)
    assert second.json()["comment_count"] == 2
    assert assert_etag(second) not in (cached, after_comment)

    expect(commenter.client.delete(comment_url(comment)), 204)
    third = owner.client.get(task_url(task), headers={"If-None-Match": assert_etag(second)})
    expect(third, 200)
    assert third.json()["comment_count"] == 1
    assert assert_etag(third) != assert_etag(second)
    if third.json() == body:  # the same representation again: the same validator
        assert assert_etag(third) == after_comment


def test_task_changes_change_the_project_etag(people, make_project, add_member):
    owner, viewer = people.get(2)
    project = make_project(owner)
    add_member(project, owner, viewer, "viewer")
    url = project_url(project)

    def project_tag() -> str:
        return assert_etag(viewer.client.get(url))

    def changed_from(cached: str, counts: dict[str, int]) -> str:
        response = viewer.client.get(url, headers={"If-None-Match": cached})
        expect(response, 200)
        assert response.json()["task_counts"] == counts
        assert response.json()["version"] == project["version"]  # task writes don't bump it
        return assert_etag(response)

    empty = project_tag()
    task = expect(owner.client.post(tasks_url(project), json={"title": "t"}), 201)
    one_todo = changed_from(empty, {"todo": 1, "in_progress": 0, "done": 0})
    expect(owner.client.patch(task_url(task), json={"status": "in_progress"}), 200)
    one_started = changed_from(one_todo, {"todo": 0, "in_progress": 1, "done": 0})
    # A task write that leaves task_counts alone leaves the project's representation alone.
    expect(owner.client.patch(task_url(task), json={"title": "renamed"}), 200)
    expect(viewer.client.get(url, headers={"If-None-Match": one_started}), 304)
    expect(owner.client.delete(task_url(task)), 204)
    gone = changed_from(one_started, {"todo": 0, "in_progress": 0, "done": 0})
    assert gone == empty  # the same representation as before the task: the same ETag


def test_project_etags_are_per_caller(people, make_project, add_member):
    """my_role is part of the representation: owner, editor and viewer get three ETags."""
    owner, editor, viewer = people.get(3)
    project = make_project(owner, name="roles")
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    url = project_url(project)
    tags = {}
    for who, role in ((owner, "owner"), (editor, "editor"), (viewer, "viewer")):
        response = who.client.get(url)
        assert response.json()["my_role"] == role
        tags[role] = assert_etag(response)
    assert len(set(tags.values())) == 3, tags
    response = viewer.client.get(url, headers={"If-None-Match": tags["owner"]})
    expect(response, 200)  # the owner's validator does not validate the viewer's copy
    assert response.json()["my_role"] == "viewer"
    expect(viewer.client.get(url, headers={"If-None-Match": tags["viewer"]}), 304)

    # A role change is a change of that member's representation only.
    expect(owner.client.put(f"{url}/members/{viewer.id}", json={"role": "editor"}), 200)
    promoted = viewer.client.get(url, headers={"If-None-Match": tags["viewer"]})
    expect(promoted, 200)
    assert assert_etag(promoted) == tags["editor"]
    expect(editor.client.get(url, headers={"If-None-Match": tags["editor"]}), 304)
    expect(owner.client.get(url, headers={"If-None-Match": tags["owner"]}), 304)


def test_a_task_has_one_etag_for_every_member(people, make_project, add_member, make_task):
    owner, editor, viewer = people.get(3)
    project = make_project(owner)
    add_member(project, owner, editor, "editor")
    add_member(project, owner, viewer, "viewer")
    task = make_task(project, owner)
    tags = {assert_etag(who.client.get(task_url(task))) for who in (owner, editor, viewer)}
    assert len(tags) == 1


# ------------------------------------------------------------------------ If-Match: stale reps


def test_if_match_with_a_representation_made_stale_by_a_comment_is_412(
    people, make_project, make_task, make_comment
):
    """The version did not change; the representation did (comment_count): 412, nothing done."""
    [owner] = people.get(1)
    project = make_project(owner)
    task = make_task(project, owner, title="before")
    seen = assert_etag(owner.client.get(task_url(task)))
    make_comment(task, owner)
    before = get_json(owner.client, task_url(task))
    entries = activity(owner.client, project["id"])

    assert_problem(
        owner.client.patch(task_url(task), json={"title": "after"}, headers={"If-Match": seen}),
        412,
    )
    assert_problem(owner.client.delete(task_url(task), headers={"If-Match": seen}), 412)
    assert get_json(owner.client, task_url(task)) == before
    assert activity(owner.client, project["id"]) == entries

    current = assert_etag(owner.client.get(task_url(task)))
    response = owner.client.patch(
        task_url(task), json={"title": "after"}, headers={"If-Match": current}
    )
    expect(response, 200)
    assert response.json()["version"] == before["version"] + 1


def test_if_match_with_a_project_made_stale_by_a_task_is_412(people, make_project, make_task):
    """task_counts changed, the project's version did not: its old ETag is stale."""
    [owner] = people.get(1)
    project = make_project(owner, name="before")
    seen = assert_etag(owner.client.get(project_url(project)))
    make_task(project, owner)
    before = get_json(owner.client, project_url(project))
    assert before["version"] == project["version"]

    response = owner.client.patch(
        project_url(project), json={"name": "after"}, headers={"If-Match": seen}
    )
    assert_problem(response, 412)
    assert get_json(owner.client, project_url(project)) == before

    current = assert_etag(owner.client.get(project_url(project)))
    response = owner.client.patch(
        project_url(project), json={"name": "after"}, headers={"If-Match": current}
    )
    expect(response, 200)
    assert response.json()["name"] == "after"


def test_if_match_with_a_task_made_stale_by_a_label_deletion_is_412(
    people, make_project, make_label, make_task
):
    [owner] = people.get(1)
    project = make_project(owner)
    label = make_label(project, owner)
    task = make_task(project, owner, label_ids=[label["id"]])
    seen = assert_etag(owner.client.get(task_url(task)))
    expect(owner.client.delete(label_url(project, label)), 204)
    before = get_json(owner.client, task_url(task))
    assert_problem(
        owner.client.patch(task_url(task), json={"title": "x"}, headers={"If-Match": seen}), 412
    )
    assert get_json(owner.client, task_url(task)) == before


# ------------------------------------------------------------------------ If-Match under the lock


WRITES = {
    # name: (the row to lock, the URL kind, two conflicting writes)
    "updateTask": ("tasks", "task", ("patch", {"title": "first"}), ("patch", {"title": "second"})),
    "updateTask-deleteTask": ("tasks", "task", ("patch", {"status": "done"}), ("delete", None)),
    "updateProject": (
        "projects",
        "project",
        ("patch", {"name": "first"}),
        ("patch", {"name": "second"}),
    ),
}


def _send(client: Any, url: str, write: tuple[str, Any], tag: str) -> Any:
    method, body = write
    if method == "delete":
        return client.delete(url, headers={"If-Match": tag})
    return client.patch(url, json=body, headers={"If-Match": tag})


@pytest.mark.parametrize("write", list(WRITES))
def test_if_match_is_compared_under_the_writes_lock(
    server, db, api, people, make_project, make_task, write
):
    """Two writes with the same, current If-Match wait for the row lock together; once it is
    released, the first one granted it succeeds and the second, reading the changed
    representation under the lock, gets 412. Comparing before the lock lets both through."""
    table, kind, first, second = WRITES[write]
    [owner] = people.get(1)
    project = make_project(owner, name="raced")
    task = make_task(project, owner, title="raced")
    url, row = (
        (task_url(task), task["id"]) if kind == "task" else (project_url(project), project["id"])
    )
    tag = assert_etag(owner.client.get(url))
    versions_before = get_json(owner.client, url)["version"]
    clients = [api.authed(owner.token), api.authed(owner.token)]

    with ThreadPoolExecutor(2) as pool, row_locked(server.database_url, table, row) as locker:
        futures = [pool.submit(_send, clients[0], url, first, tag)]
        wait_for_lock_waiters(db, 1)
        futures.append(pool.submit(_send, clients[1], url, second, tag))
        wait_for_lock_waiters(db, 2)
        locker.rollback()  # release: they now run one after the other
        responses = [f.result() for f in futures]

    statuses = [r.status_code for r in responses]
    if statuses == [404, 204]:  # the delete was granted the lock first: the update finds no task
        assert_problem(responses[0], 404)
        assert_problem(owner.client.get(url), 404)
        return
    # [200, 200] or [200, 204]: the second write passed If-Match after the first changed the task.
    assert sorted(statuses) == [200, 412], (statuses, [r.text for r in responses])
    loser, winner = sorted(responses, key=lambda r: r.status_code == 200)
    assert_problem(loser, 412)
    after = get_json(owner.client, url)
    assert after == winner.json()
    assert after["version"] == versions_before + 1


@pytest.mark.parametrize("kind", ["task", "project"])
def test_a_change_made_while_the_write_waits_for_its_lock_makes_it_412(
    server, db, api, people, make_project, make_task, kind
):
    """The representation changes between the request's arrival and its lock being granted:
    If-Match is compared with what it reads under the lock."""
    [owner] = people.get(1)
    project = make_project(owner, name="raced")
    task = make_task(project, owner, title="raced")
    table, row, url, field = (
        ("tasks", task["id"], task_url(task), "title")
        if kind == "task"
        else ("projects", project["id"], project_url(project), "name")
    )
    tag = assert_etag(owner.client.get(url))
    client = api.authed(owner.token)
    with ThreadPoolExecutor(1) as pool, row_locked(server.database_url, table, row) as locker:
        future = pool.submit(
            client.patch, url, json={field: "from the request"}, headers={"If-Match": tag}
        )
        wait_for_lock_waiters(db, 1)
        locker.execute(
            f"UPDATE {table} SET {field} = 'changed under the lock', version = version + 1,"
            " updated_at = now() WHERE id = %s",
            (row,),
        )
        locker.commit()
        response = future.result()
    assert_problem(response, 412)
    after = get_json(owner.client, url)
    assert after[field] == "changed under the lock"
    assert assert_etag(owner.client.get(url)) != tag


@pytest.mark.parametrize("kind", ["task", "project"])
def test_racing_writes_with_one_if_match_let_exactly_one_through(
    api, people, make_project, make_task, kind
):
    """Without a lock held by the test (also against --base-url): released together, two writes
    with one If-Match never both succeed."""
    [owner] = people.get(1)
    project = make_project(owner, name="raced")
    clients = [api.authed(owner.token), api.authed(owner.token)]
    for round_ in range(4):
        if kind == "task":
            url, field = task_url(make_task(project, owner, title="raced")), "title"
        else:
            url, field = project_url(project), "name"
        before = get_json(owner.client, url)
        tag = assert_etag(owner.client.get(url))
        responses = send_together(
            [
                partial(
                    client.patch,
                    url,
                    json={field: f"round {round_} writer {i}"},
                    headers={"If-Match": tag},
                )
                for i, client in enumerate(clients)
            ]
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        assert get_json(owner.client, url)["version"] == before["version"] + 1
