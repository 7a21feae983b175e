"""PostgreSQL restarting under load (issue 13; contract/DECISIONS.md, "Unavailable"). A bounded
mixed read/write load runs against a server of the implementation while its database is stopped
and started again. During the outage every answer is a success or a 503 problem with
`Retry-After: 1`, none later than the budget; from 5 s after the database is back, full service
without restarting the API server; every write that got a 2xx is in the database, and no write
that did not is half-applied."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from support.client import ContractClient
from support.factories import create_account
from support.invariants import assert_invariants
from support.own_cluster import OwnCluster
from support.paths import PROJECTS_URL, task_url, tasks_url
from support.responses import expect
from support.servers import prepare_database, start_server

pytestmark = [pytest.mark.fault, pytest.mark.slow]

CLIENTS = 6
UP_BEFORE = 3.0  # seconds of load before the database stops
DOWN_FOR = 4.0
LOAD_FOR = 16.0
RECOVERY_BUDGET = 5.0  # full service this long after the database is back
# The longest a request may take: the 5 s budget of DECISIONS ("Unavailable") for the one wait,
# plus the work and a loaded 2-core machine's scheduling.
ANSWER_BUDGET = 12.0


@dataclass
class Outcome:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    title: str | None = None
    task_id: str | None = None
    error: str | None = None
    retry_after: str | None = None
    problem_status: int | None = None


@pytest.fixture
def own_cluster(server) -> Iterator[OwnCluster]:
    if server.is_remote:
        pytest.skip("restarts a PostgreSQL of its own (not with --base-url)")
    cluster = OwnCluster()
    yield cluster
    cluster.remove()


def _load(
    base_url: str,
    token: str,
    project_id: str,
    seed_task: str,
    until: float,
    outcomes: list[Outcome],
    lock: threading.Lock,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        turn = 0
        while time.monotonic() < until:
            turn += 1
            kind = ("create", "list", "read", "update")[turn % 4]
            title = f"outage-{uuid.uuid4().hex[:12]}" if kind == "create" else None
            started = time.monotonic()
            outcome = Outcome(kind, started, started, None, title=title)
            try:
                if kind == "create":
                    response = client.post(tasks_url(project_id), json={"title": title})
                elif kind == "list":
                    response = client.get(tasks_url(project_id), params={"limit": 25})
                elif kind == "read":
                    response = client.get(task_url(seed_task))
                else:
                    response = client.patch(
                        task_url(seed_task), json={"description": uuid.uuid4().hex}
                    )
                outcome.status = response.status_code
                outcome.retry_after = response.headers.get("Retry-After")
                if response.status_code == 201:
                    outcome.task_id = response.json()["id"]
                elif response.status_code >= 400:
                    outcome.problem_status = response.json().get("status")
            except (httpx.HTTPError, ValueError) as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.ended = time.monotonic()
            with lock:
                outcomes.append(outcome)
            if outcome.status == 503:
                time.sleep(0.2)  # a client honouring Retry-After would wait longer


def test_postgresql_restart_under_load(server, own_cluster, contract) -> None:
    database_url = own_cluster.database_url(f"quartet_outage_{server.impl}")
    admin_email, admin_password = prepare_database(database_url)
    api_server = start_server(server.impl, database_url)
    try:
        with httpx.Client(base_url=api_server.base_url, timeout=30) as api:
            admin_token = expect(
                api.post(
                    "/api/v1/auth/token",
                    data={"username": admin_email, "password": admin_password},
                ),
                200,
            )["access_token"]

        anonymous = ContractClient(api_server.base_url, contract=contract)
        admin = anonymous.authed(admin_token)
        owner = create_account(anonymous, admin)
        project = expect(owner.client.post(PROJECTS_URL, json={"name": "Outage"}), 201)
        seed = expect(owner.client.post(tasks_url(project), json={"title": "seed"}), 201)

        outcomes: list[Outcome] = []
        lock = threading.Lock()
        start = time.monotonic()
        threads = [
            threading.Thread(
                target=_load,
                args=(
                    api_server.base_url,
                    owner.token,
                    project["id"],
                    seed["id"],
                    start + LOAD_FOR,
                    outcomes,
                    lock,
                ),
                daemon=True,
            )
            for _ in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(UP_BEFORE)
        stopped_at = time.monotonic()
        own_cluster.stop()
        time.sleep(DOWN_FOR)
        own_cluster.start()
        back_at = time.monotonic()
        for thread in threads:
            thread.join(LOAD_FOR + 60)
        assert not any(thread.is_alive() for thread in threads), "a client never got an answer"
        assert api_server.process.poll() is None, "the API server died"

        # Every request got an HTTP answer: a success or a 503 problem with Retry-After: 1.
        failures = [o for o in outcomes if o.error or not (o.status < 300 or o.status == 503)]
        assert not failures, f"{failures[:3]}\nserver log:\n{api_server.log_tail(60)}"
        for outcome in outcomes:
            if outcome.status == 503:
                assert outcome.retry_after == "1" and outcome.problem_status == 503, outcome
        slowest = max(o.ended - o.started for o in outcomes)
        assert slowest < ANSWER_BUDGET, f"a request took {slowest:.1f} s"

        during = [o for o in outcomes if stopped_at <= o.started < back_at]
        unavailable = [o for o in outcomes if o.status == 503]
        assert during, "no request was made while the database was down"
        assert unavailable, "the outage was never seen: was the database really stopped?"
        # Full service from RECOVERY_BUDGET after the database is back.
        late = [o for o in outcomes if o.started >= back_at + RECOVERY_BUDGET]
        assert late, "the load ended before recovery could be observed"
        assert all(o.status < 300 for o in late), [o for o in late if o.status >= 300][:5]
        last_failure = max((o.ended for o in unavailable), default=back_at)
        recovered_in = max(0.0, last_failure - back_at)

        # Durability: every 201 is there; a create that failed is absent or whole.
        with psycopg.connect(database_url, autocommit=True) as db:
            stored = dict(
                db.execute(
                    "SELECT title, id::text FROM tasks WHERE project_id = %s", (project["id"],)
                )
            )
            created = [o for o in outcomes if o.kind == "create" and o.status == 201]
            lost = [o for o in created if stored.get(o.title) != o.task_id]
            assert not lost, f"{len(lost)} acknowledged writes are missing: {lost[:3]}"
            assert_invariants(db, [project["id"]])
        print(
            f"\n[{server.impl}] outage of {DOWN_FOR:.0f} s under {CLIENTS} clients: "
            f"{len(outcomes)} requests, {len(during)} during the outage, "
            f"{len(unavailable)} answered 503, recovered {recovered_in:.1f} s after the "
            f"database was back, slowest answer {slowest:.1f} s, acknowledged writes lost: "
            f"{len(lost)} of {len(created)}"
        )
    finally:
        api_server.stop()
