"""Notifications (listNotifications, markNotificationRead; contract 1.2, SPEC sections 7 and 11
"Live part details", issue 16): a task given an assignee other than the actor — on createTask or
on an updateTask that changes `assignee_id` to a user — notifies that user with a
`task.assigned` notification written in the same transaction; `GET /api/v1/me/notifications`
lists one's own newest first, keyset-paged, filtered by `unread`; `POST .../{id}/read` → 204.

Recipients are fresh users (`make_user`): an inbox is a user's own data."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from support.factories import Account, random_id
from support.pagination import first_page, ids, walk, walk_pages
from support.paths import (
    NOTIFICATIONS_URL,
    activity_url,
    member_url,
    notification_read_url,
    task_url,
    tasks_url,
)
from support.problems import assert_errors, assert_problem, assert_unauthorized
from support.responses import expect, get_json
from support.wire import NEVER_MATCHES, assert_timestamp, summary

KIND = "task.assigned"
CURSOR_ERROR = (("query", "cursor"), "invalid_cursor")


def inbox(account: Account, **params: Any) -> list[dict[str, Any]]:
    """Every notification of `account` (newest first), walking all pages."""
    return walk(account.client, NOTIFICATIONS_URL, params or None, limit=100)


def assert_notification(
    item: dict[str, Any], *, task: dict[str, Any], actor: Account, read: bool = False
) -> None:
    assert set(item) == {"id", "kind", "task_id", "project_id", "actor", "read", "created_at"}
    assert item["kind"] == KIND
    assert item["task_id"] == task["id"]
    assert item["project_id"] == task["project_id"]
    assert item["actor"] == summary(actor)
    assert item["read"] is read
    assert_timestamp(item["created_at"])


@pytest.fixture
def team(make_user, make_project) -> dict[str, Any]:
    """An owner's project with two editors, fresh users (their inboxes start empty)."""
    owner, alice, bob = make_user(), make_user(), make_user()
    project = make_project(owner)
    for member in (alice, bob):
        expect(owner.client.put(member_url(project, member.id), json={"role": "editor"}), 201)
    return {"owner": owner, "alice": alice, "bob": bob, "project": project}


# ------------------------------------------------------------------------ who is notified


def test_assignment_on_create_notifies_the_assignee(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    task = make_task(team["project"], owner, assignee_id=alice.id)
    (item,) = inbox(alice)
    assert_notification(item, task=task, actor=owner)
    assert inbox(owner) == [] and inbox(team["bob"]) == []


def test_assignment_on_update_notifies_the_new_assignee_only_when_it_changes(
    team, make_task
) -> None:
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    task = make_task(team["project"], owner)
    assert inbox(alice) == []  # created unassigned

    expect(owner.client.patch(task_url(task), json={"assignee_id": alice.id}), 200)
    (first,) = inbox(alice)
    assert_notification(first, task=task, actor=owner)

    # Other fields, the same assignee again: nothing new.
    expect(owner.client.patch(task_url(task), json={"title": "renamed", "status": "done"}), 200)
    expect(owner.client.patch(task_url(task), json={"assignee_id": alice.id}), 200)
    expect(bob.client.patch(task_url(task), json={"priority": "urgent"}), 200)
    assert inbox(alice) == [first]

    # Reassigned by another member: the new assignee hears from that member.
    expect(bob.client.patch(task_url(task), json={"assignee_id": owner.id}), 200)
    (to_owner,) = inbox(owner)
    assert_notification(to_owner, task=task, actor=bob)
    assert inbox(alice) == [first]

    # Unassigned: nobody is notified.
    expect(owner.client.patch(task_url(task), json={"assignee_id": None}), 200)
    assert inbox(owner) == [to_owner] and inbox(alice) == [first] and inbox(bob) == []

    # Assigned again after being unassigned: notified again.
    expect(bob.client.patch(task_url(task), json={"assignee_id": alice.id}), 200)
    latest, earlier = inbox(alice)
    assert earlier == first
    assert_notification(latest, task=task, actor=bob)


def test_assigning_oneself_notifies_nobody(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    mine = make_task(team["project"], owner, assignee_id=owner.id)
    task = make_task(team["project"], owner)
    expect(alice.client.patch(task_url(task), json={"assignee_id": alice.id}), 200)
    expect(owner.client.patch(task_url(mine), json={"assignee_id": None}), 200)
    expect(owner.client.patch(task_url(mine), json={"assignee_id": owner.id}), 200)
    assert inbox(owner) == [] and inbox(alice) == []


def test_removing_the_assignee_from_the_project_notifies_nobody(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    task = make_task(team["project"], owner, assignee_id=alice.id)
    expect(owner.client.delete(member_url(team["project"], alice.id)), 204)
    assert get_json(owner.client, task_url(task))["assignee"] is None
    assert len(inbox(alice)) == 1  # the assignment's only
    assert inbox(owner) == []


def test_a_refused_change_writes_no_notification(team, make_task, make_user) -> None:
    owner, alice = team["owner"], team["alice"]
    project = team["project"]
    outsider = make_user()
    task = make_task(project, owner)
    # Refused before anything is written: a stale If-Match, a bad reference beside a good
    # assignee, an assignee who is not a member.
    assert_problem(
        owner.client.patch(
            task_url(task), json={"assignee_id": alice.id}, headers={"If-Match": NEVER_MATCHES}
        ),
        412,
    )
    assert_errors(
        owner.client.patch(
            task_url(task), json={"assignee_id": alice.id, "label_ids": [random_id()]}
        ),
        (("body", "label_ids", 0), "invalid_reference"),
    )
    assert_errors(
        owner.client.post(
            tasks_url(project),
            json={"title": "t", "assignee_id": alice.id, "label_ids": [random_id()]},
        ),
        (("body", "label_ids", 0), "invalid_reference"),
    )
    assert_errors(
        owner.client.patch(task_url(task), json={"assignee_id": outsider.id}),
        (("body", "assignee_id"), "invalid_reference"),
    )
    assert inbox(alice) == [] and inbox(outsider) == []


def test_the_notification_is_written_in_the_assignments_transaction(
    team, make_task, db: psycopg.Connection
) -> None:
    """A failure at commit — after the notification was written — undoes the assignment, its
    activity entry and the notification alike: none of them is left (a notification written in
    a transaction of its own would survive, or the assignment would)."""
    owner, alice = team["owner"], team["alice"]
    task = make_task(team["project"], owner)
    entries_before = get_json(owner.client, activity_url(team["project"]))["items"]
    name = f"fail_notification_{task['id'].replace('-', '')}"
    db.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.task_id = '{task['id']}' THEN RAISE EXCEPTION 'suite: refused at commit';"
        " END IF; RETURN NULL; END $$"
    )
    db.execute(
        f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON notifications"
        f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}()"
    )
    try:
        failed = owner.client.patch(task_url(task), json={"assignee_id": alice.id, "title": "x"})
    finally:
        db.execute(f"DROP TRIGGER {name} ON notifications")
        db.execute(f"DROP FUNCTION {name}()")
    assert_problem(failed, 500)
    after = get_json(owner.client, task_url(task))
    assert after["assignee"] is None and after["title"] == task["title"]
    assert after["version"] == task["version"]
    assert get_json(owner.client, activity_url(team["project"]))["items"] == entries_before
    assert inbox(alice) == []
    # The same change without the fault notifies.
    expect(owner.client.patch(task_url(task), json={"assignee_id": alice.id}), 200)
    assert len(inbox(alice)) == 1


def test_a_notification_outlives_its_task(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    task = make_task(team["project"], owner, assignee_id=alice.id)
    expect(owner.client.delete(task_url(task)), 204)
    (item,) = inbox(alice)
    assert_notification(item, task=task, actor=owner)


# ------------------------------------------------------------------------ listing


def test_the_list_is_newest_first_and_filters_by_unread(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    tasks = [make_task(team["project"], owner, assignee_id=alice.id) for _ in range(4)]
    items = inbox(alice)
    assert [n["task_id"] for n in items] == [t["id"] for t in reversed(tasks)]
    keys = [(n["created_at"], n["id"]) for n in items]
    assert keys == sorted(keys, reverse=True)

    read = {items[1]["id"], items[3]["id"]}
    for notification_id in read:
        expect(alice.client.post(notification_read_url(notification_id)), 204)
    now = inbox(alice)
    assert [n["id"] for n in now] == [n["id"] for n in items]  # reading does not reorder
    assert {n["id"] for n in now if n["read"]} == read
    assert inbox(alice, unread="true") == [n for n in now if not n["read"]]
    assert inbox(alice, unread="false") == [n for n in now if n["read"]]


@pytest.mark.parametrize("value", ["maybe", "1", "0", "True", "FALSE", "yes", ""])
def test_unread_accepts_true_and_false_only(make_user, value) -> None:
    account = make_user()
    assert_errors(
        account.client.get(NOTIFICATIONS_URL, params={"unread": value}),
        (("query", "unread"), "bool_parsing"),
    )


def test_pages_follow_the_cursor(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    for _ in range(5):
        make_task(team["project"], owner, assignee_id=alice.id)
    everything = inbox(alice)
    assert len(everything) == 5
    pages = walk_pages(alice.client, NOTIFICATIONS_URL, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [n for page in pages for n in page] == everything

    # A cursor of the unread list continues the unread list.
    expect(alice.client.post(notification_read_url(everything[1]["id"])), 204)
    unread = walk_pages(alice.client, NOTIFICATIONS_URL, {"unread": "true"}, limit=2)
    assert ids(n for page in unread for n in page) == [
        n["id"] for i, n in enumerate(everything) if i != 1
    ]
    assert first_page(alice.client, NOTIFICATIONS_URL, limit=100)["next_cursor"] is None


def test_bad_paging_parameters_are_422(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    project = team["project"]
    for _ in range(3):
        make_task(project, owner, assignee_id=alice.id)
    client = alice.client
    for cursor in ("garbage", "", "eyJub3QiOiAiYSBjdXJzb3IifQ"):
        assert_errors(client.get(NOTIFICATIONS_URL, params={"cursor": cursor}), CURSOR_ERROR)
    # A cursor of another list is not a cursor of this one.
    activity_cursor = get_json(owner.client, activity_url(project), {"limit": 1})["next_cursor"]
    assert activity_cursor
    assert_errors(client.get(NOTIFICATIONS_URL, params={"cursor": activity_cursor}), CURSOR_ERROR)
    for limit, error in (
        ("0", "greater_than_equal"),
        ("101", "less_than_equal"),
        ("x", "int_parsing"),
    ):
        assert_errors(
            client.get(NOTIFICATIONS_URL, params={"limit": limit}), (("query", "limit"), error)
        )


def test_an_inbox_is_its_owners_only(team, make_task) -> None:
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    make_task(team["project"], owner, assignee_id=alice.id)
    make_task(team["project"], owner, assignee_id=bob.id)
    assert len(inbox(alice)) == 1 and len(inbox(bob)) == 1
    assert inbox(alice)[0]["id"] != inbox(bob)[0]["id"]
    # A cursor is scoped to its caller and its filter (DECISIONS "Pagination").
    make_task(team["project"], owner, assignee_id=bob.id)
    bobs = first_page(bob.client, NOTIFICATIONS_URL, limit=1)["next_cursor"]
    assert bobs
    assert_errors(alice.client.get(NOTIFICATIONS_URL, params={"cursor": bobs}), CURSOR_ERROR)
    unread = first_page(bob.client, NOTIFICATIONS_URL, {"unread": "true"}, limit=1)["next_cursor"]
    for other in ({}, {"unread": "false"}):
        assert_errors(
            bob.client.get(NOTIFICATIONS_URL, params={**other, "cursor": unread}), CURSOR_ERROR
        )
    expect(bob.client.get(NOTIFICATIONS_URL, params={"unread": "true", "cursor": unread}), 200)


# ------------------------------------------------------------------------ marking read


def test_mark_read_is_204_and_idempotent(team, make_task) -> None:
    owner, alice = team["owner"], team["alice"]
    make_task(team["project"], owner, assignee_id=alice.id)
    (item,) = inbox(alice)
    first = alice.client.post(notification_read_url(item))
    assert first.status_code == 204 and first.content == b""
    (read,) = inbox(alice)
    assert read == {**item, "read": True}
    again = alice.client.post(notification_read_url(item))
    assert again.status_code == 204 and again.content == b""
    assert inbox(alice) == [read]
    # A body is ignored, as on the contract's other bodiless POSTs.
    expect(alice.client.post(notification_read_url(item), json={"read": False}), 204)
    expect(
        alice.client.post(
            notification_read_url(item), content=b"not json", headers={"Content-Type": "text/plain"}
        ),
        204,
    )
    assert inbox(alice) == [read]


def test_someone_elses_or_an_unknown_notification_is_404(team, make_task) -> None:
    owner, alice, bob = team["owner"], team["alice"], team["bob"]
    make_task(team["project"], owner, assignee_id=alice.id)
    (item,) = inbox(alice)
    others = assert_problem(bob.client.post(notification_read_url(item)), 404)
    unknown = assert_problem(bob.client.post(notification_read_url(random_id())), 404)
    assert others["detail"] == unknown["detail"]
    assert_problem(owner.client.post(notification_read_url(item)), 404)  # the actor's neither
    assert inbox(alice) == [item]  # still unread


def test_a_bad_notification_id_is_422(make_user) -> None:
    account = make_user()
    for bad in (
        "nope",
        "0b7e1f5295c44b0e9a533d1b6f0c2a11",
        "urn:uuid:0b7e1f52-95c4-4b0e-9a53-3d1b6f0c2a11",
    ):
        assert_errors(
            account.client.post(notification_read_url(bad)),
            (("path", "notification_id"), "uuid_parsing"),
        )


def test_notifications_need_a_token(api) -> None:
    assert_unauthorized(api.get(NOTIFICATIONS_URL))
    assert_unauthorized(api.get(NOTIFICATIONS_URL, params={"unread": "maybe"}))  # 401 first
    assert_unauthorized(api.post(notification_read_url(random_id())))
    assert_unauthorized(api.post(notification_read_url("nope")))
    bad = api.anonymous()
    bad.headers["Authorization"] = "Bearer not-a-token"
    assert_unauthorized(bad.get(NOTIFICATIONS_URL))
