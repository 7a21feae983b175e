"""At realistic scale, every list and get request's SQL has a plan that reads only the page.

The statement count (test_query_budget) cannot see a query that reads a whole project to return
twenty rows; a plan can. A fresh database holds the scale data set (support.scale_data: a
project of 100,000 tasks, a task with 5,000 comments, a project with 45,000 activity entries);
an extra server of the implementation talks to it through shared.pgproxy.CapturingProxy, which
keeps every statement with its parameters as sent. After each request, each SELECT it ran is
replayed with EXPLAIN ANALYZE (support.plans) and its plan must:

- never Seq Scan tasks, comments or activity (every request);
- for a page of tasks (every sort, first page and deep in the list, and the filters whose
  matches the data makes dense), of comments or of activity, and for a task: read no more rows
  of those relations than a small multiple of the page (BOUND_FACTOR, below);
- for a project or the list of projects: read no task at all (`task_counts` come from
  `project_task_counts`, which the database keeps; migration 0002).

Filters whose matches are sparse (an assignee in an order other than newest first, a label, a
rare word) legitimately read tasks past the page: the Seq Scan rule still holds them (but for a
rare word, see Case.infix), and so does the bound on comments, which are counted for the rows
fetched only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from shared.pgproxy import CapturingProxy
from support.client import ContractClient
from support.contract import Contract
from support.factories import expect, login
from support.plans import Plan, describe, explain, is_select, one_line, rows_read
from support.scale_data import ScaleData, load
from support.servers import PostgresCluster, Server, ServerPool, prepare_database, start_server

pytestmark = pytest.mark.slow

LIMIT = 20
# A page is `limit + 1` rows (the extra one says whether there is a next page). What the page
# may read, per relation, is BOUND_FACTOR times the rows it fetches: once for the page itself,
# once more for statements that join back to those rows (the labels' `SELECT ... IN`, which an
# ORM may route through tasks; a visibility check), and a third time as headroom for a keyset
# boundary. Reading the whole list is 100,000 rows; a wrong shape overshoots by orders of
# magnitude, so the bound can stay tight without being flaky.
BOUND_FACTOR = 3
# Cursor cases continue after a first page of this many rows (not measured): deep enough that a
# keyset condition the index cannot use (reading from the start of the list) breaks the bound.
DEEP = 100
WATCHED = ("tasks", "comments", "activity")


class Rule(enum.Enum):
    SEQ_SCAN_ONLY = "no Seq Scan of tasks, comments or activity"
    TASK_PAGE = "reads only the tasks of the page and their comments"
    SPARSE_TASKS = "reads only the comments of the tasks fetched"
    COMMENT_PAGE = "reads only the comments of the page"
    ACTIVITY_PAGE = "reads only the activity entries of the page"
    COUNTS_KEPT = "reads no task (task_counts from project_task_counts)"


@dataclass(frozen=True)
class Case:
    path: str  # {scale}, {busy}, {plain} (and in params {assignee}, {label}): from the data set
    rule: Rule
    params: dict[str, Any] = field(default_factory=dict)
    paged: bool = True  # a keyset list: sent with limit=LIMIT
    depth: int = 0  # continue after this many rows (a cursor)
    # Dense filters: the SQL condition (on tasks of the scale project) that the filter means;
    # its share of the tasks scales the bound (reading 2 rows per match at 50% is no defect).
    matches: str | None = None
    # A title substring (q) has no index to use: no btree serves an infix match, and the
    # embedded PostgreSQL has no pg_trgm. When matches are sparse the plan must read the
    # project's tasks, and with the project most of the table a Seq Scan is the planner's
    # cheapest way to do it; it is not a defect of the implementation's SQL.
    infix: bool = False


TASKS = "/api/v1/projects/{scale}/tasks"
SORTS = ("-created_at", "created_at", "due_date", "-due_date", "priority", "-priority")


def _cases() -> dict[str, Case]:
    cases = {
        "listUsers": Case("/api/v1/users", Rule.SEQ_SCAN_ONLY),
        "listUsers q": Case("/api/v1/users", Rule.SEQ_SCAN_ONLY, {"q": "plan-user-01"}),
        "listProjects": Case("/api/v1/projects", Rule.COUNTS_KEPT),
        "listProjects cursor": Case("/api/v1/projects", Rule.COUNTS_KEPT, depth=LIMIT),
        "getProject": Case("/api/v1/projects/{scale}", Rule.COUNTS_KEPT, paged=False),
        "listMembers": Case("/api/v1/projects/{scale}/members", Rule.SEQ_SCAN_ONLY, paged=False),
        "listLabels": Case("/api/v1/projects/{scale}/labels", Rule.SEQ_SCAN_ONLY, paged=False),
    }
    for sort in SORTS:
        cases[f"listTasks sort={sort}"] = Case(TASKS, Rule.TASK_PAGE, {"sort": sort})
        cases[f"listTasks sort={sort} cursor"] = Case(
            TASKS, Rule.TASK_PAGE, {"sort": sort}, depth=DEEP
        )
    dense = {
        "status": ({"status": "todo"}, "status = 'todo'"),
        "priority": ({"priority": ["high", "urgent"]}, "priority IN ('high', 'urgent')"),
        "due_before": ({"due_before": "2026-09-01"}, "due_date < '2026-09-01'"),
        "q": ({"q": "ALPHA"}, "title ILIKE '%alpha%'"),
    }
    for name, (params, matches) in dense.items():
        cases[f"listTasks {name}"] = Case(TASKS, Rule.TASK_PAGE, params, matches=matches)
    # "My tasks" in the list's default order has an index of its own (migration 0005): a page.
    cases["listTasks assignee_id"] = Case(TASKS, Rule.TASK_PAGE, {"assignee_id": "{assignee}"})
    cases["listTasks assignee_id cursor"] = Case(
        TASKS, Rule.TASK_PAGE, {"assignee_id": "{assignee}"}, depth=DEEP
    )
    # In another order, the assignee's tasks in the project are read and sorted.
    cases["listTasks assignee_id sort=priority"] = Case(
        TASKS, Rule.SPARSE_TASKS, {"assignee_id": "{assignee}", "sort": "priority"}
    )
    cases["listTasks label_id"] = Case(TASKS, Rule.SPARSE_TASKS, {"label_id": "{label}"})
    cases["listTasks q sparse"] = Case(TASKS, Rule.SPARSE_TASKS, {"q": "zeta"}, infix=True)
    cases["getTask"] = Case("/api/v1/tasks/{busy}", Rule.TASK_PAGE, paged=False)
    cases["getTask no comments"] = Case("/api/v1/tasks/{plain}", Rule.TASK_PAGE, paged=False)
    for suffix, depth in (("", 0), (" cursor", DEEP)):
        cases[f"listComments{suffix}"] = Case(
            "/api/v1/tasks/{busy}/comments", Rule.COMMENT_PAGE, depth=depth
        )
        cases[f"listActivity{suffix}"] = Case(
            "/api/v1/projects/{scale}/activity", Rule.ACTIVITY_PAGE, depth=depth
        )
    return cases


CASES = _cases()


# ------------------------------------------------------------------------ the world


@dataclass
class Measured:
    """One request: the plans of its SELECTs and what it answered."""

    url: str
    body: dict[str, Any]
    plans: list[Plan]
    skipped: list[str]  # statements not replayed (not SELECTs)

    def scans(self, relation: str) -> Iterator[tuple[Plan, dict[str, Any]]]:
        for plan in self.plans:
            for node in plan.scans(relation):
                yield plan, node

    def read(self, relation: str) -> int:
        return sum(rows_read(node) for _, node in self.scans(relation))


@dataclass
class World:
    data: ScaleData
    client: ContractClient  # the owner, on the proxied server
    proxy: CapturingProxy
    replay: psycopg.Connection  # straight to the database

    def fill(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if not isinstance(value, str):
            return value
        return value.format(
            scale=self.data.scale_project,
            busy=self.data.busy_task,
            plain=self.data.plain_task,
            assignee=self.data.assignee,
            label=self.data.label,
        )

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return expect(self.client.get(path, params=params), 200)

    def cursor_after(self, path: str, params: dict[str, Any], depth: int) -> str:
        cursor: str | None = None
        while depth > 0:
            limit = min(100, depth)
            page = self.get(
                path, {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
            )
            cursor = page["next_cursor"]
            assert cursor, f"{path}: the data set has fewer rows than the case walks past"
            depth -= limit
        assert cursor is not None
        return cursor

    def measure(self, path: str, params: dict[str, Any]) -> Measured:
        self.proxy.settle()
        self.proxy.take()  # whatever ran before (walking to a cursor, a pool's ping)
        response = self.client.get(path, params=params)
        body = expect(response, 200)
        self.proxy.settle()
        plans, skipped = [], []
        for statement in self.proxy.take():
            if is_select(statement.sql):
                plans.append(explain(self.replay, statement))
            else:
                skipped.append(statement.sql)
        return Measured(str(response.request.url), body, plans, skipped)

    def share(self, condition: str) -> float:
        """The share of the scale project's tasks that satisfy `condition` (SQL)."""
        row = self.replay.execute(
            # `condition` is one of this module's constants, not input.
            f"SELECT avg(({condition.replace('%', '%%')})::int) FROM tasks WHERE project_id = %s",
            (self.data.scale_project,),
        ).fetchone()
        assert row is not None and row[0] is not None
        return float(row[0])


@pytest.fixture(scope="session")
def scale_data(_server_pool: ServerPool) -> ScaleData:
    """One database per session (per xdist worker), shared by the implementations: they only
    read it."""
    cluster: PostgresCluster = _server_pool.cluster()
    database_url = cluster.create_database("quartet_plans")
    prepare_database(database_url)  # `quartet db migrate` and `quartet create-admin`
    data = load(database_url)
    print(f"\nscale data set loaded in {data.load_seconds:.1f} s")
    return data


@pytest.fixture(scope="module")
def world(server: Server, contract: Contract, request: pytest.FixtureRequest) -> Iterator[World]:
    if server.is_remote:
        pytest.skip("needs the suite's own PostgreSQL (not with --base-url)")
    data: ScaleData = request.getfixturevalue("scale_data")
    with (
        CapturingProxy(data.database_url) as proxy,
        start_server(server.impl, proxy.url) as extra,
        ContractClient(extra.base_url, contract=contract) as anonymous,
        psycopg.connect(data.database_url, autocommit=True) as replay,
    ):
        client = anonymous.authed(login(anonymous, data.owner_email, data.password))
        yield World(data, client, proxy, replay)


# ------------------------------------------------------------------------ the rules


@dataclass
class Offence:
    rule: str
    plan: Plan
    nodes: list[dict[str, Any]]


def _relation_bound(
    measured: Measured, relation: str, bound: int, why: str, offences: list[Offence]
) -> None:
    read = measured.read(relation)
    if read <= bound:
        return
    rule = f"reads {read:,} rows of {relation}, more than the page allows ({bound:,} = {why})"
    for plan in measured.plans:
        nodes = [node for node in plan.scans(relation) if rows_read(node)]
        if nodes:
            offences.append(Offence(rule, plan, nodes))


def _offences(
    world: World, case: Case, params: dict[str, Any], measured: Measured
) -> list[Offence]:
    offences: list[Offence] = []
    for relation in WATCHED:
        for plan, node in measured.scans(relation):
            if node["Node Type"] == "Seq Scan" and not (case.infix and relation == "tasks"):
                offences.append(Offence(f"Seq Scan on {relation}", plan, [node]))

    rows = LIMIT + 1 if case.paged else 1
    page = f"{BOUND_FACTOR} × {'(limit ' + str(LIMIT) + ' + 1)' if case.paged else '1 row'}"
    if case.rule is Rule.TASK_PAGE:
        share = world.share(case.matches) if case.matches else 1.0
        assert share >= 0.5, f"{case.matches}: {share:.0%} of the tasks, not dense"
        task_bound = round(BOUND_FACTOR * rows / share)
        why = page if share == 1.0 else f"{page} / {share:.0%} of the tasks matching"
        _relation_bound(measured, "tasks", task_bound, why, offences)
    if case.rule in (Rule.TASK_PAGE, Rule.SPARSE_TASKS):
        # comment_count is a correlated count per row fetched: it reads those rows' comments,
        # however many tasks the filter had to look at to find them.
        comments = _comments_of_fetched_rows(world, case, params, measured)
        _relation_bound(
            measured,
            "comments",
            comments + BOUND_FACTOR * rows,
            f"the {comments:,} comments of the rows fetched + {page}",
            offences,
        )
    elif case.rule is Rule.COMMENT_PAGE:
        _relation_bound(measured, "comments", BOUND_FACTOR * rows, page, offences)
        _relation_bound(measured, "tasks", BOUND_FACTOR, f"{BOUND_FACTOR} × its task", offences)
    elif case.rule is Rule.ACTIVITY_PAGE:
        _relation_bound(measured, "activity", BOUND_FACTOR * rows, page, offences)
    elif case.rule is Rule.COUNTS_KEPT:
        for plan in measured.plans:
            nodes = [node for node in plan.scans("tasks") if rows_read(node)]
            if nodes:
                offences.append(Offence(Rule.COUNTS_KEPT.value, plan, nodes))
    return offences


def _comments_of_fetched_rows(
    world: World, case: Case, params: dict[str, Any], measured: Measured
) -> int:
    """The comments of every row the request fetched: for a page, its `limit + 1` rows (asked
    again, unmeasured, with limit + 1); for a task, its own."""
    if not case.paged:
        return measured.body["comment_count"]
    fetched = world.get(world.fill(case.path), {**params, "limit": LIMIT + 1})
    return sum(task["comment_count"] for task in fetched["items"])


def _report(name: str, measured: Measured, offences: list[Offence]) -> str:
    lines = [f"{name}: GET {measured.url}"]
    rule = None
    for offence in offences:
        if offence.rule != rule:  # one heading per broken rule, then each statement at fault
            rule = offence.rule
            lines.append(f"  ✗ {rule}")
        number = f"{measured.plans.index(offence.plan) + 1} of {len(measured.plans)}"
        lines.append(f"    statement {number}: {one_line(offence.plan.statement.sql)}")
        lines.extend("      " + describe(node).replace("\n", "\n      ") for node in offence.nodes)
    return "\n".join(lines)


# ------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("name", list(CASES))
def test_the_plan_reads_only_the_page(world: World, name: str) -> None:
    case = CASES[name]
    path = world.fill(case.path)
    params = {key: world.fill(value) for key, value in case.params.items()}
    if case.depth:
        params["cursor"] = world.cursor_after(path, params, case.depth)
    measured = world.measure(path, {**params, "limit": LIMIT} if case.paged else params)

    # The test must see the work, or it proves nothing: the request's reads were replayed.
    assert measured.plans, f"{name}: no SELECT captured; statements seen: {measured.skipped}"
    expected = {
        Rule.TASK_PAGE: "tasks",
        Rule.SPARSE_TASKS: "tasks",
        Rule.COMMENT_PAGE: "comments",
        Rule.ACTIVITY_PAGE: "activity",
        Rule.COUNTS_KEPT: "projects",
    }.get(case.rule)
    if expected:
        assert any(measured.scans(expected)), f"{name}: no captured plan reads {expected}"

    offences = _offences(world, case, params, measured)
    if offences:
        pytest.fail(_report(name, measured, offences), pytrace=False)
