"""Keyset pagination (contract/DECISIONS.md "Ordering and collation", "Pagination"): order,
filters, cursors."""

from __future__ import annotations

import base64
import json

import pytest

from support.factories import random_id, unique
from support.pagination import first_page, ids, query_pairs, walk, walk_pages
from support.paths import (
    API,
    PROJECTS_URL,
    USERS_URL,
    activity_url,
    comments_url,
    project_url,
    task_url,
    tasks_url,
)
from support.problems import assert_errors
from support.responses import expect, get_json

CURSOR_ERROR = (("query", "cursor"), "invalid_cursor")
# The priority order of `sort=priority` (contract/DECISIONS.md "Ordering and collation").
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


# ------------------------------------------------------------------------- expected orders


def order_created_desc(tasks):
    return sorted(tasks, key=lambda t: (t["created_at"], t["id"]), reverse=True)


def order_created_asc(tasks):
    return sorted(tasks, key=lambda t: (t["created_at"], t["id"]))


def order_due_asc(tasks):
    dated = sorted((t for t in tasks if t["due_date"]), key=lambda t: (t["due_date"], t["id"]))
    undated = sorted((t for t in tasks if not t["due_date"]), key=lambda t: t["id"])
    return dated + undated


def order_due_desc(tasks):
    dated = sorted(
        (t for t in tasks if t["due_date"]), key=lambda t: (t["due_date"], t["id"]), reverse=True
    )
    undated = sorted((t for t in tasks if not t["due_date"]), key=lambda t: t["id"], reverse=True)
    return dated + undated


def order_priority_asc(tasks):
    return sorted(tasks, key=lambda t: (PRIORITY_RANK[t["priority"]], t["id"]))


def order_priority_desc(tasks):
    return sorted(tasks, key=lambda t: (PRIORITY_RANK[t["priority"]], t["id"]), reverse=True)


SORTS = {
    None: order_created_desc,
    "-created_at": order_created_desc,
    "created_at": order_created_asc,
    "due_date": order_due_asc,
    "-due_date": order_due_desc,
    "priority": order_priority_asc,
    "-priority": order_priority_desc,
}

DUE_DATES = [
    None,
    "2026-03-01",
    "2026-01-15",
    None,
    "2026-03-01",
    "2025-12-31",
    "2026-03-01",
    None,
    "2026-01-15",
    "2027-07-07",
    None,
    "2026-03-01",
    "2025-12-31",
]
PRIORITY_PER_TASK = [
    "medium",
    "high",
    "low",
    "urgent",
    "medium",
    "medium",
    "high",
    "low",
    "urgent",
    "medium",
    "high",
    "medium",
    "low",
]


@pytest.fixture
def mixed_board(people, make_project, make_task):
    """13 tasks with equal due dates, null due dates and equal priorities, to stress tie-breaks."""
    owner = people.get(1)[0]
    project = make_project(owner)
    tasks = [
        make_task(project, owner, title=f"task {i:02d}", due_date=due, priority=priority)
        for i, (due, priority) in enumerate(zip(DUE_DATES, PRIORITY_PER_TASK, strict=True))
    ]
    return owner, project, tasks


@pytest.mark.parametrize("sort", list(SORTS), ids=[str(s) for s in SORTS])
def test_every_sort_pages_through_in_order(mixed_board, sort):
    owner, project, tasks = mixed_board
    params = {"sort": sort} if sort else {}
    expected = SORTS[sort](tasks)
    for limit in (1, 4, 13, 100):
        got = walk(owner.client, tasks_url(project), params, limit=limit)
        assert ids(got) == ids(expected), f"limit={limit}"
        assert got == expected  # whole objects, not just the order


def test_last_page_exactly_full_has_no_next_cursor(mixed_board):
    owner, project, tasks = mixed_board
    pages = walk_pages(owner.client, tasks_url(project), limit=13)
    assert [len(p) for p in pages] == [13]
    pages = walk_pages(owner.client, tasks_url(project), limit=12)
    assert [len(p) for p in pages] == [12, 1]


@pytest.mark.smoke
def test_default_limit_is_20(people, make_project, make_task, make_comment):
    owner = people.get(1)[0]
    project = make_project(owner)
    task = make_task(project, owner, title="chatty")
    for i in range(21):
        make_comment(task, owner, body=f"c{i}")
    page = first_page(owner.client, comments_url(task))
    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None
    rest = first_page(owner.client, comments_url(task), {"cursor": page["next_cursor"]})
    assert [c["body"] for c in rest["items"]] == ["c20"]
    assert rest["next_cursor"] is None


def test_a_cursor_does_not_pin_the_limit(mixed_board):
    owner, project, tasks = mixed_board
    url = tasks_url(project)
    page = first_page(owner.client, url, {"sort": "priority"}, limit=3)
    rest = walk(owner.client, url, {"sort": "priority", "cursor": page["next_cursor"]}, limit=5)
    assert ids(page["items"] + rest) == ids(order_priority_asc(tasks))


def test_users_pages(make_user):
    prefix = unique("pg")
    users = [
        make_user(email=f"{prefix}{i}@example.com", display_name=name)
        for i, name in enumerate(["Kim", "kim", "Kim", "Al", "al", "Zed", "Kim", "_", "Al"])
    ]
    expected = sorted(users, key=lambda u: (u.display_name.encode(), u.id))
    for limit in (1, 2, 4, 9):
        got = walk(users[0].client, USERS_URL, {"q": prefix}, limit=limit)
        assert ids(got) == [u.id for u in expected]


def test_projects_pages(make_user, make_project, add_member):
    me, other = make_user(), make_user()
    mine = [make_project(me, name=f"p{i}") for i in range(5)]
    shared = make_project(other, name="shared")
    add_member(shared, other, me, "editor")
    expected = sorted(mine + [shared], key=lambda p: (p["created_at"], p["id"]), reverse=True)
    for limit in (1, 2, 5):
        assert ids(walk(me.client, PROJECTS_URL, limit=limit)) == ids(expected)


def test_comments_pages(people, make_project, make_task, make_comment):
    owner = people.get(1)[0]
    project = make_project(owner)
    task = make_task(project, owner, title="t")
    comments = [make_comment(task, owner, body=f"c{i}") for i in range(7)]
    expected = sorted(comments, key=lambda c: (c["created_at"], c["id"]))
    for limit in (1, 3, 7):
        assert walk(owner.client, comments_url(task), limit=limit) == expected


def test_activity_pages(people, make_project, make_task):
    owner = people.get(1)[0]
    project = make_project(owner)
    tasks = [make_task(project, owner, title=f"t{i}") for i in range(6)]
    full = walk(owner.client, activity_url(project), limit=100)
    assert [e["target_id"] for e in full] == [t["id"] for t in reversed(tasks)] + [project["id"]]
    for limit in (1, 3, 7):
        assert walk(owner.client, activity_url(project), limit=limit) == full


# ------------------------------------------------------------------- exactly once under writes


@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "due_date", "-due_date", "-priority"]
)
def test_every_original_task_appears_exactly_once_under_concurrent_writes(
    mixed_board, make_task, sort
):
    owner, project, tasks = mixed_board
    url = tasks_url(project)
    expected_order = ids(SORTS[sort](tasks))
    seen: list[str] = []
    deleted_unseen: set[str] = set()
    page = first_page(owner.client, url, {"sort": sort}, limit=3)
    step = 0
    while True:
        seen += ids(page["items"])
        if page["next_cursor"] is None:
            break
        step += 1
        # Between the first pages: insert rows that sort before, among and after the remaining
        # ones (a bounded number, so a walk in creation order terminates) …
        if step <= 3:
            make_task(
                project, owner, title=f"new {step}a", due_date="2025-01-01", priority="urgent"
            )
            make_task(
                project, owner, title=f"new {step}b", due_date="2026-03-01", priority="medium"
            )
            make_task(project, owner, title=f"new {step}c", due_date=None, priority="low")
        # … and delete a row not seen yet (steps 1, 3) or one already seen (step 2).
        unseen = [t for t in expected_order if t not in seen and t not in deleted_unseen]
        if step in (1, 3) and len(unseen) > 1:
            expect(owner.client.delete(task_url(unseen[-1])), 204)
            deleted_unseen.add(unseen[-1])
        if step == 2:
            expect(owner.client.delete(task_url(seen[0])), 204)
        page = first_page(owner.client, url, {"sort": sort, "cursor": page["next_cursor"]}, limit=3)

    assert step >= 3
    assert len(seen) == len(set(seen)), "a row was returned twice"
    originals = [t for t in seen if t in set(expected_order)]
    assert set(originals) == set(expected_order) - deleted_unseen
    # The original rows keep their relative order.
    assert originals == [t for t in expected_order if t in set(originals)]


def test_comments_exactly_once_while_comments_are_added_and_deleted(
    people, make_project, make_task, make_comment
):
    owner = people.get(1)[0]
    project = make_project(owner)
    task = make_task(project, owner, title="t")
    originals = [make_comment(task, owner, body=f"c{i}")["id"] for i in range(8)]
    url = comments_url(task)
    page = first_page(owner.client, url, limit=3)
    seen = ids(page["items"])
    # Delete a not-yet-seen comment and add new ones (they sort after every original).
    expect(owner.client.delete(f"{API}/comments/{originals[5]}"), 204)
    new = make_comment(task, owner, body="late")["id"]
    while page["next_cursor"]:
        page = first_page(owner.client, url, {"cursor": page["next_cursor"]}, limit=3)
        seen += ids(page["items"])
    assert seen == [c for c in originals if c != originals[5]] + [new]


def test_projects_exactly_once_while_projects_are_created_and_deleted(make_user, make_project):
    me = make_user()
    originals = [make_project(me, name=f"p{i}") for i in range(7)]
    expected = ids(sorted(originals, key=lambda p: (p["created_at"], p["id"]), reverse=True))
    page = first_page(me.client, PROJECTS_URL, limit=2)
    seen = ids(page["items"])
    make_project(me, name="newer than every cursor")  # sorts before the cursor: not returned
    expect(me.client.delete(project_url(expected[4])), 204)  # not seen yet
    expect(me.client.delete(project_url(expected[0])), 204)  # already seen
    while page["next_cursor"]:
        page = first_page(me.client, PROJECTS_URL, {"cursor": page["next_cursor"]}, limit=2)
        seen += ids(page["items"])
    assert seen == [p for p in expected if p != expected[4]]


def test_activity_exactly_once_while_entries_are_appended(people, make_project, make_task):
    [owner] = people.get(1)
    project = make_project(owner)
    for i in range(6):
        make_task(project, owner, title=f"t{i}")
    url = activity_url(project)
    expected = ids(walk(owner.client, url, limit=100))
    page = first_page(owner.client, url, limit=3)
    seen = ids(page["items"])
    while page["next_cursor"]:
        make_task(project, owner, title="appended")  # newer than the cursor: not returned
        page = first_page(owner.client, url, {"cursor": page["next_cursor"]}, limit=3)
        seen += ids(page["items"])
    assert seen == expected


def test_cursor_survives_deletion_of_the_row_it_points_at(mixed_board):
    owner, project, tasks = mixed_board
    url = tasks_url(project)
    page = first_page(owner.client, url, {"sort": "due_date"}, limit=4)
    last_seen = page["items"][-1]["id"]
    expect(owner.client.delete(task_url(last_seen)), 204)
    rest = walk(owner.client, url, {"sort": "due_date", "cursor": page["next_cursor"]}, limit=4)
    assert ids(page["items"]) + ids(rest) == ids(order_due_asc(tasks))


# ------------------------------------------------------------------------- filters


@pytest.fixture
def filter_board(people, make_project, add_member, make_label, make_task):
    owner, alice, bob = people.get(3)
    project = make_project(owner)
    add_member(project, owner, alice, "editor")
    add_member(project, owner, bob, "viewer")
    red = make_label(project, owner, name="red", color="#ff0000")
    blue = make_label(project, owner, name="blue", color="#0000ff")
    specs = [
        ("Fix login", "todo", "high", alice, "2026-05-01", [red]),
        ("fix LOGOUT", "in_progress", "low", bob, None, [blue]),
        ("Write docs", "done", "medium", None, "2026-04-30", [red, blue]),
        ("100% coverage", "todo", "urgent", alice, "2026-05-02", []),
        ("100 percent", "todo", "urgent", None, "2026-01-01", [red]),
        ("snake_case names", "in_progress", "high", bob, "2026-05-01", []),
        ("snakeXcase names", "done", "low", alice, None, [blue]),
        ("back\\slash", "todo", "medium", None, "2025-12-31", []),
        ("Prefix fix", "done", "high", bob, "2026-06-01", [red]),
    ]
    tasks = []
    for title, status, priority, assignee, due, labels in specs:
        tasks.append(
            make_task(
                project,
                owner,
                title=title,
                status=status,
                priority=priority,
                assignee_id=assignee.id if assignee else None,
                due_date=due,
                label_ids=[label["id"] for label in labels],
            )
        )
    return owner, project, tasks, {"alice": alice, "bob": bob, "red": red, "blue": blue}


def _has_label(task, label_id):
    return any(label["id"] == label_id for label in task["labels"])


FILTERS = {
    "status-one": ({"status": ["todo"]}, lambda t, x: t["status"] == "todo"),
    "status-any-of": ({"status": ["todo", "done"]}, lambda t, x: t["status"] in ("todo", "done")),
    "status-all": ({"status": ["todo", "done", "in_progress"]}, lambda t, x: True),
    "priority-one": ({"priority": ["urgent"]}, lambda t, x: t["priority"] == "urgent"),
    "priority-any-of": (
        {"priority": ["low", "high"]},
        lambda t, x: t["priority"] in ("low", "high"),
    ),
    "assignee": (
        {"assignee_id": "alice"},
        lambda t, x: t["assignee"] and t["assignee"]["id"] == x["alice"].id,
    ),
    "label": ({"label_id": "red"}, lambda t, x: _has_label(t, x["red"]["id"])),
    "due-before": (
        {"due_before": "2026-05-01"},
        lambda t, x: t["due_date"] is not None and t["due_date"] < "2026-05-01",
    ),
    "q-case-insensitive": ({"q": "FIX"}, lambda t, x: "fix" in t["title"].lower()),
    "q-substring": ({"q": "log"}, lambda t, x: "log" in t["title"].lower()),
    "q-percent-literal": ({"q": "100%"}, lambda t, x: "100%" in t["title"]),
    "q-underscore-literal": ({"q": "e_c"}, lambda t, x: "e_c" in t["title"]),
    "q-backslash-literal": ({"q": "k\\s"}, lambda t, x: "k\\s" in t["title"]),
    "status+priority": (
        {"status": ["todo"], "priority": ["urgent", "high"]},
        lambda t, x: t["status"] == "todo" and t["priority"] in ("urgent", "high"),
    ),
    "label+assignee": (
        {"label_id": "blue", "assignee_id": "bob"},
        lambda t, x: (
            _has_label(t, x["blue"]["id"]) and t["assignee"] and t["assignee"]["id"] == x["bob"].id
        ),
    ),
    "everything": (
        {
            "status": ["todo", "in_progress"],
            "priority": ["high", "urgent"],
            "assignee_id": "alice",
            "label_id": "red",
            "due_before": "2026-05-02",
            "q": "fix",
        },
        lambda t, x: t["title"] == "Fix login",
    ),
    "q+due-before": (
        {"q": "i", "due_before": "2026-05-02"},
        lambda t, x: (
            "i" in t["title"].lower() and t["due_date"] is not None and t["due_date"] < "2026-05-02"
        ),
    ),
    "nothing-matches": ({"q": "zzz-no-such-title"}, lambda t, x: False),
}


def _resolve(params, named):
    out = {}
    for key, value in params.items():
        if key == "assignee_id":
            value = named[value].id
        elif key == "label_id":
            value = named[value]["id"]
        out[key] = value
    return out


@pytest.mark.parametrize("name", list(FILTERS))
def test_filters(filter_board, name):
    owner, project, tasks, named = filter_board
    params, predicate = FILTERS[name]
    query = _resolve(params, named)
    expected = [t for t in order_created_desc(tasks) if predicate(t, named)]
    if name not in ("status-all",):
        assert len(expected) < len(tasks)
    if name != "nothing-matches":
        assert expected, "the fixture should make this filter match something"
    url = tasks_url(project)
    assert walk(owner.client, url, query, limit=100) == expected
    assert walk(owner.client, url, query, limit=2) == expected  # cursors carry the filters
    by_due = walk(owner.client, url, {**query, "sort": "-due_date"}, limit=2)
    assert ids(by_due) == ids(order_due_desc(expected))


def test_filter_by_unknown_ids_is_empty_not_an_error(filter_board):
    owner, project, tasks, named = filter_board
    url = tasks_url(project)
    for params in ({"assignee_id": random_id()}, {"label_id": random_id()}):
        assert get_json(
            owner.client, url + "?" + "&".join(f"{k}={v}" for k, v in params.items())
        ) == {"items": [], "next_cursor": None}


def test_label_filter_of_another_project_is_empty(filter_board, make_project, make_label):
    owner, project, tasks, named = filter_board
    other = make_project(owner)
    foreign = make_label(other, owner, name="red", color="#ff0000")
    assert walk(owner.client, tasks_url(project), {"label_id": foreign["id"]}) == []


def test_tasks_of_other_projects_never_appear(filter_board, make_project, make_task):
    owner, project, tasks, named = filter_board
    other = make_project(owner)
    make_task(other, owner, title="Fix elsewhere")
    assert ids(walk(owner.client, tasks_url(project), {"q": "fix"})) == ids(
        [t for t in order_created_desc(tasks) if "fix" in t["title"].lower()]
    )


# ------------------------------------------------------------------------- bad cursors


def _flip(text: str, index: int) -> str:
    char = text[index]
    replacement = "A" if char != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


@pytest.fixture
def cursors(mixed_board, make_comment, make_project, make_task):
    owner, project, tasks = mixed_board
    url = tasks_url(project)
    task_cursor = first_page(owner.client, url, limit=2)["next_cursor"]
    for i in range(3):
        make_comment(tasks[0], owner, body=f"c{i}")
    comment_cursor = first_page(owner.client, comments_url(tasks[0]), limit=1)["next_cursor"]
    other = make_project(owner)
    for i in range(3):
        make_task(other, owner, title=f"o{i}")
    other_cursor = first_page(owner.client, tasks_url(other), limit=1)["next_cursor"]
    activity_cursor = first_page(owner.client, activity_url(project), limit=1)["next_cursor"]
    assert all((task_cursor, comment_cursor, other_cursor, activity_cursor))
    return {
        "owner": owner,
        "project": project,
        "tasks": tasks,
        "url": url,
        "task": task_cursor,
        "comment": comment_cursor,
        "other_project": other_cursor,
        "activity": activity_cursor,
    }


def test_tampered_cursors_are_rejected(cursors):
    c = cursors
    cursor = c["task"]
    body, _, signature = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_payload = {**payload, "k": payload["k"][:-1] + [random_id()]}
    forged_body = (
        base64.urlsafe_b64encode(json.dumps(forged_payload, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )
    bad = [
        _flip(cursor, len(cursor) - 2),  # signature
        _flip(cursor, 3),  # payload
        f"{forged_body}.{signature}",  # re-encoded payload, old signature
        cursor + "x",
        cursor[:-4],
        body,  # no signature at all
    ]
    for value in bad:
        assert value != cursor
        assert_errors(c["owner"].client.get(c["url"], params={"cursor": value}), CURSOR_ERROR)


@pytest.mark.parametrize(
    "garbage", ["garbage", "%%%", "....", "eyJ9.eyJ9", "a.b.c", "🙂", "null", "0"]
)
def test_garbage_cursors_are_rejected(cursors, garbage):
    assert_errors(
        cursors["owner"].client.get(cursors["url"], params={"cursor": garbage}), CURSOR_ERROR
    )


@pytest.mark.parametrize(
    "source, target",
    [
        ("comment", "tasks"),
        ("activity", "tasks"),
        ("task", "comments"),
        ("task", "activity"),
        ("task", "projects"),
        ("task", "users"),
        ("other_project", "tasks"),
    ],
)
def test_cursor_from_another_list_is_rejected(cursors, source, target):
    c = cursors
    urls = {
        "tasks": c["url"],
        "comments": comments_url(c["tasks"][0]),
        "activity": activity_url(c["project"]),
        "projects": PROJECTS_URL,
        "users": USERS_URL,
    }
    assert_errors(c["owner"].client.get(urls[target], params={"cursor": c[source]}), CURSOR_ERROR)


def test_comment_cursor_of_another_task_is_rejected(cursors, make_comment):
    c = cursors
    for i in range(2):
        make_comment(c["tasks"][1], c["owner"], body=f"x{i}")
    assert_errors(
        c["owner"].client.get(comments_url(c["tasks"][1]), params={"cursor": c["comment"]}),
        CURSOR_ERROR,
    )


@pytest.mark.parametrize(
    "minted, used",
    [
        ({}, {"sort": "created_at"}),
        ({"sort": "due_date"}, {"sort": "-due_date"}),
        ({"sort": "priority"}, {}),
        ({"status": ["todo"]}, {"status": ["done"]}),
        ({"status": ["todo"]}, {}),
        ({}, {"status": ["todo"]}),
        ({"status": ["todo", "done"]}, {"status": ["todo"]}),
        (
            {"priority": ["low", "medium", "high", "urgent"]},
            {"priority": ["low", "medium", "high"]},
        ),
        ({"q": "task"}, {"q": "TASK 0"}),
        ({"due_before": "2027-01-01"}, {"due_before": "2027-01-02"}),
        ({"assignee_id": "OWNER"}, {}),
    ],
)
def test_cursor_with_other_filters_or_sort_is_rejected(cursors, minted, used):
    c = cursors
    owner_id = c["owner"].id
    fix = lambda p: {k: (owner_id if v == "OWNER" else v) for k, v in p.items()}  # noqa: E731
    if "assignee_id" in minted:
        for t in c["tasks"][:3]:
            expect(c["owner"].client.patch(task_url(t), json={"assignee_id": owner_id}), 200)
    page = first_page(c["owner"].client, c["url"], fix(minted), limit=1)
    assert page["next_cursor"], "fixture must produce a second page"
    response = c["owner"].client.get(
        c["url"], params=[*query_pairs(fix(used)), ("cursor", page["next_cursor"]), ("limit", "1")]
    )
    assert_errors(response, CURSOR_ERROR)


def test_cursor_works_with_repeated_filters_in_another_order(cursors):
    """A repeated filter is a set: a cursor minted for `priority=low&priority=urgent`
    continues the same list when the values come in another order."""
    c = cursors
    expected = ids(t for t in order_created_desc(c["tasks"]) if t["priority"] in ("low", "urgent"))
    assert len(expected) >= 3
    minted = first_page(
        c["owner"].client, c["url"], [("priority", "low"), ("priority", "urgent")], limit=1
    )
    assert ids(minted["items"]) == expected[:1]
    rest = walk(
        c["owner"].client,
        c["url"],
        [("priority", "urgent"), ("priority", "low"), ("cursor", minted["next_cursor"])],
        limit=1,
    )
    assert ids(rest) == expected[1:]


def test_users_cursor_is_bound_to_q(make_user):
    prefix = unique("cq")
    for i in range(3):
        make_user(email=f"{prefix}{i}@example.com")
    reader = make_user()
    page = first_page(reader.client, USERS_URL, {"q": prefix}, limit=1)
    assert_errors(
        reader.client.get(USERS_URL, params={"q": prefix + "1", "cursor": page["next_cursor"]}),
        CURSOR_ERROR,
    )
    assert_errors(
        reader.client.get(USERS_URL, params={"cursor": page["next_cursor"]}), CURSOR_ERROR
    )


def test_projects_cursor_is_bound_to_the_caller(people, make_project, add_member):
    me, you = people.get(2)
    projects = [make_project(me, name=f"p{i}") for i in range(3)]
    for project in projects:
        add_member(project, me, you, "viewer")
    page = first_page(me.client, PROJECTS_URL, limit=1)
    assert_errors(
        you.client.get(PROJECTS_URL, params={"cursor": page["next_cursor"]}), CURSOR_ERROR
    )
