"""Races (issue 13): two clients at the same moment on rows that depend on each other. Each race
runs ROUNDS times to hit the window; every answer must be one the contract allows for some order
of the two requests (never a 500), and afterwards the database invariants hold
(support.invariants: no task assigned to a non-member, every project has an owner, every task
version bump has its task.updated entry, ...). The locks that make this so are in
contract/DECISIONS.md, "Locks"."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from support.factories import Account, unique
from support.invariants import assert_invariants
from support.paths import (
    PROJECTS_URL,
    comments_url,
    label_url,
    labels_url,
    member_url,
    project_url,
    task_url,
    tasks_url,
)
from support.problems import assert_problem
from support.races import race, statuses
from support.responses import get_json

pytestmark = pytest.mark.fault

ROUNDS = 12


def _no_500(responses) -> None:
    for response in responses:
        assert response.status_code < 500, (
            f"{response.request.method} {response.request.url} → {response.status_code}: "
            f"{response.text[:300]}"
        )


def test_member_removal_racing_assignment_of_that_member(
    people, make_project, add_member, make_task, db
) -> None:
    owner, member = people.get(2)
    projects = []
    for _ in range(ROUNDS):
        project = make_project(owner)
        projects.append(project["id"])
        add_member(project, owner, member, "editor")
        task = make_task(project, owner)
        assign, remove = race(
            partial(owner.client.patch, task_url(task), json={"assignee_id": member.id}),
            partial(owner.client.delete, member_url(project, member.id)),
        )
        _no_500([assign, remove])
        assert remove.status_code == 204, remove.text
        # Assigned first (then unassigned by the removal), or refused: no longer a member.
        assert assign.status_code in (200, 422), assign.text
        if assign.status_code == 422:
            assert_problem(assign, 422)
        assert get_json(owner.client, task_url(task))["assignee"] is None
    assert_invariants(db, projects)


def test_label_deletion_racing_a_task_update_that_sets_it(
    people, make_project, make_label, make_task, db
) -> None:
    (owner,) = people.get(1)
    projects = []
    for _ in range(ROUNDS):
        project = make_project(owner)
        projects.append(project["id"])
        label = make_label(project, owner)
        task = make_task(project, owner)
        attach, delete = race(
            partial(owner.client.patch, task_url(task), json={"label_ids": [label["id"]]}),
            partial(owner.client.delete, label_url(project, label)),
        )
        _no_500([attach, delete])
        assert delete.status_code == 204, delete.text
        assert attach.status_code in (200, 422), attach.text
        assert get_json(owner.client, task_url(task))["labels"] == []
    assert_invariants(db, projects)


CREATES: dict[str, Callable[[Account, dict[str, Any], dict[str, Any]], Any]] = {
    "task": lambda owner, project, task: owner.client.post(
        tasks_url(project), json={"title": unique("Task")}
    ),
    "label": lambda owner, project, task: owner.client.post(
        labels_url(project), json={"name": unique("label"), "color": "#112233"}
    ),
    "comment": lambda owner, project, task: owner.client.post(
        comments_url(task), json={"body": "racing the project's deletion"}
    ),
}


@pytest.mark.parametrize("kind", list(CREATES))
def test_project_deletion_racing_creation_in_it(kind, people, make_project, make_task, db) -> None:
    (owner,) = people.get(1)
    create = CREATES[kind]
    outcomes = set()
    for _ in range(ROUNDS):
        project = make_project(owner)
        task = make_task(project, owner)
        created, deleted = race(
            partial(create, owner, project, task),
            partial(owner.client.delete, project_url(project)),
        )
        _no_500([created, deleted])
        assert deleted.status_code == 204, deleted.text
        assert created.status_code in (201, 404), created.text
        outcomes.add(created.status_code)
        assert owner.client.get(project_url(project)).status_code == 404
        # Nothing of the project survives it (a create that committed after the delete would).
        left = db.execute(
            "SELECT (SELECT count(*) FROM tasks WHERE project_id = %(p)s)"
            " + (SELECT count(*) FROM labels WHERE project_id = %(p)s)"
            " + (SELECT count(*) FROM activity WHERE project_id = %(p)s)",
            {"p": uuid.UUID(project["id"])},
        ).fetchone()[0]
        assert left == 0


def test_comment_creation_racing_task_deletion(people, make_project, make_task, db) -> None:
    (owner,) = people.get(1)
    project = make_project(owner)
    for _ in range(ROUNDS):
        task = make_task(project, owner)
        comment, deleted = race(
            partial(owner.client.post, comments_url(task), json={"body": "racing the delete"}),
            partial(owner.client.delete, task_url(task)),
        )
        _no_500([comment, deleted])
        assert deleted.status_code == 204, deleted.text
        assert comment.status_code in (201, 404), comment.text
        orphans = db.execute(
            "SELECT count(*) FROM comments WHERE task_id = %s", (uuid.UUID(task["id"]),)
        ).fetchone()[0]
        assert orphans == 0
    assert_invariants(db, [project["id"]])


@pytest.mark.parametrize("move", ["demote", "remove"])
def test_owners_demoting_or_removing_each_other_never_leave_none(
    move, people, make_project, add_member, db
) -> None:
    first, second = people.get(2)
    projects = []
    for _ in range(ROUNDS):
        project = make_project(first)
        projects.append(project["id"])
        add_member(project, first, second, "owner")

        def act(actor: Account, target: Account, project: dict[str, Any] = project):
            url = member_url(project, target.id)
            if move == "demote":
                return partial(actor.client.put, url, json={"role": "editor"})
            return partial(actor.client.delete, url)

        answers = race(act(first, second), act(second, first))
        _no_500(answers)
        success = 200 if move == "demote" else 204
        # One wins; the other finds itself no longer an owner (403), no longer a member (404),
        # or the target the last owner (409) — never both.
        assert statuses(answers).count(success) == 1, statuses(answers)
        loser = next(r for r in answers if r.status_code != success)
        assert loser.status_code in (403, 404, 409), loser.text
    assert_invariants(db, projects)


def test_the_same_idempotency_key_from_two_clients_at_once_makes_one_row(
    people, db, contract, server
) -> None:
    (owner,) = people.get(1)
    twin = owner.client.authed(owner.token)
    for _ in range(ROUNDS):
        key = f"race-{uuid.uuid4()}"
        name = unique("Idempotent")
        headers = {"Idempotency-Key": key}
        answers = race(
            partial(owner.client.post, PROJECTS_URL, json={"name": name}, headers=headers),
            partial(twin.post, PROJECTS_URL, json={"name": name}, headers=headers),
        )
        _no_500(answers)
        # One creates; the other replays it, or is told the first is still in flight.
        assert 201 in statuses(answers), statuses(answers)
        for response in answers:
            assert response.status_code in (201, 409), response.text
        created = [r for r in answers if r.status_code == 201]
        assert len({r.json()["id"] for r in created}) == 1
        if len(created) == 2:
            assert [r.headers.get("Idempotent-Replayed") for r in created].count("true") == 1
        rows = db.execute("SELECT count(*) FROM projects WHERE name = %s", (name,)).fetchone()[0]
        assert rows == 1
