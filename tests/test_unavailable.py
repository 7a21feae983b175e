"""503 when the database is away (contract/DECISIONS.md "Unavailable", "Operations"; SPEC 11).

A database that refuses connections, one that accepts and never answers, one that goes away
under a running server and comes back, one that pauses with the pool's connections open (only a
client-side timeout helps there), and a statement held past the 5 s statement_timeout:
every contract operation but getHealth answers a 503 problem with `Retry-After: 1`, never a 500
and never a hang; /healthz stays 200; /readyz answers within its 2 s budget; service resumes
without restarting the server. Tokens come from the suite's server: every server of a session
shares its SECRET_KEY, so they are valid anywhere (the user lookup is what needs the database).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from shared.processes import free_port
from support.client import ContractClient
from support.contract import Contract, Operation
from support.factories import Account, random_id
from support.outage import Blackhole, SwitchableProxy
from support.paths import ME_URL, PROJECTS_URL, TOKEN_URL, project_url, tasks_url
from support.problems import assert_problem
from support.responses import expect
from support.servers import Server

pytestmark = pytest.mark.slow

DETAIL = "The database is not reachable."  # DECISIONS "Unavailable"
# DECISIONS: 5 s to connect or to get a pooled connection, a 5 s statement_timeout: "never a
# request that hangs past ~5 s + the time the work itself took". Generous for a loaded machine.
UNAVAILABLE_BOUND = 15.0
READINESS_BOUND = 4.0  # /readyz: 2 s, plus the HTTP round trip on a loaded machine
RECOVERY_SECONDS = 15.0
HANG_SECONDS = UNAVAILABLE_BOUND + 10  # the client's timeout: no answer by then is a hang

JSON_BODIES: dict[str, dict[str, Any]] = {
    "createProject": {"name": "Outage"},
    "createUser": {"display_name": "Outage", "password": "outage-password-1234"},
    "createLabel": {"name": "outage", "color": "#336699"},
    "createTask": {"title": "Outage"},
    "createComment": {"body": "Outage"},
    "updateProject": {"name": "Outage"},
    "updateComment": {"body": "Outage"},
    "updateTask": {"title": "Outage"},
    "putMember": {"role": "viewer"},
    "askAssistant": {"question": "Outage?", "stream": False},
}


def contract_request(
    client: httpx.Client, operation: Operation, *, email: str, password: str
) -> httpx.Response:
    """A well-formed request for `operation` (ids that name nothing: the database decides)."""
    path = operation.path
    while "{" in path:
        start = path.index("{")
        path = path[:start] + random_id() + path[path.index("}", start) + 1 :]
    if operation.operation_id == "createToken":
        return client.post(path, data={"username": email, "password": password})
    body = JSON_BODIES.get(operation.operation_id)
    if operation.operation_id == "createUser":
        body = {**body, "email": f"outage-{uuid.uuid4().hex}@example.com"}  # type: ignore[dict-item]
    return client.request(operation.method, path, json=body)


def assert_unavailable(response: httpx.Response, *, detail: str | None = DETAIL) -> None:
    body = assert_problem(response, 503)
    if detail is not None:
        assert body["detail"] == detail, body
    assert response.headers.get("retry-after") == "1", (
        f"Retry-After {response.headers.get('retry-after')!r}, expected '1'"
    )


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_ready_within_budget(client: ContractClient, *, ready: bool) -> None:
    response, elapsed = timed(lambda: client.get("/readyz"))
    if ready:
        assert expect(response, 200) == {"status": "ok"}
    else:
        assert_unavailable(response, detail=None)  # its detail is not fixed
    assert elapsed < READINESS_BOUND, f"/readyz took {elapsed:.1f} s (its budget is 2 s)"


def wait_for_recovery(client: ContractClient, url: str) -> None:
    """Until GET `url` is a 200 again, every answer is a 503 (never a 500), for a few seconds."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while (response := client.get(url)).status_code != 200:
        assert_unavailable(response)
        assert time.monotonic() < deadline, (
            f"no recovery {RECOVERY_SECONDS:.0f} s after the database came back"
        )
        time.sleep(0.5)


def answer_in_time(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """`timed(call)`, failing clearly when the server does not answer at all."""
    try:
        return timed(call)
    except httpx.TimeoutException:
        pytest.fail(f"no answer within {HANG_SECONDS:.0f} s: the request hangs")


def assert_live(client: ContractClient) -> None:
    assert expect(client.get("/healthz"), 200) == {"status": "ok"}


# ------------------------------------------------------------------------ refused


def test_every_operation_is_503_when_the_database_refuses_connections(
    server: Server, spawn_server, admin: ContractClient, contract: Contract
) -> None:
    refused = f"postgresql://postgres@127.0.0.1:{free_port()}/quartet"
    extra = spawn_server(refused)  # starts: liveness needs no database
    token = admin.token
    assert token is not None
    operations = [op for op in contract.operations() if op.operation_id != "getHealth"]
    assert len(operations) >= 27, [str(op) for op in operations]

    def check(operation: Operation) -> str | None:
        """What is wrong with the operation's answer, if anything."""
        with ContractClient(
            extra.base_url, contract=contract, token=token if operation.secured else None
        ) as client:
            try:
                response, elapsed = timed(
                    lambda: contract_request(
                        client, operation, email=server.admin_email, password=server.admin_password
                    )
                )
                if operation.operation_id == "getReadiness":
                    assert_unavailable(response, detail=None)
                    assert elapsed < READINESS_BOUND, f"took {elapsed:.1f} s"
                else:
                    assert_unavailable(response)
                    assert elapsed < UNAVAILABLE_BOUND, f"took {elapsed:.1f} s"
            except (AssertionError, httpx.HTTPError) as exc:
                return f"{operation}: {exc!r}"
        return None

    with ContractClient(extra.base_url, contract=contract) as client:
        assert_live(client)
        assert_ready_within_budget(client, ready=False)
        # Side by side (no more than a sync server's 8 threads): a server may take its 5 s to give
        # up on a connection, and 27 of those one after the other is minutes of a suite run.
        with ThreadPoolExecutor(max_workers=8) as pool:
            failures = [problem for problem in pool.map(check, operations) if problem]
        assert not failures, "\n".join(failures)
        assert_live(client)
        assert extra.process.poll() is None, "the server exited"


# ------------------------------------------------------------------------ never answers


def test_a_database_that_never_answers_is_503_not_a_hang(
    server: Server, spawn_server, admin: ContractClient, contract: Contract
) -> None:
    with Blackhole() as silent:
        extra = spawn_server(silent.url)
        with ContractClient(extra.base_url, contract=contract, token=admin.token) as client:
            assert_live(client)
            assert_ready_within_budget(client, ready=False)
            for call in (
                lambda: client.get(ME_URL),
                lambda: client.post(PROJECTS_URL, json={"name": "Outage"}),
                lambda: client.anonymous().post(
                    TOKEN_URL,
                    data={"username": server.admin_email, "password": server.admin_password},
                ),
            ):
                response, elapsed = timed(call)
                assert_unavailable(response)
                assert elapsed < UNAVAILABLE_BOUND, (
                    f"{response.request.method} {response.request.url.path} took {elapsed:.1f} s"
                )
            assert_live(client)
            assert_ready_within_budget(client, ready=False)


# ------------------------------------------------------------------------ away, then back


def test_service_resumes_when_the_database_comes_back(
    server: Server,
    spawn_server,
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    contract: Contract,
) -> None:
    owner = make_user()
    project = make_project(owner)
    assert server.database_url is not None
    with SwitchableProxy(server.database_url) as database:
        extra = spawn_server(database.url)
        with ContractClient(extra.base_url, contract=contract, token=owner.token) as client:
            anonymous = client.anonymous()

            def sign_in() -> httpx.Response:
                return anonymous.post(
                    TOKEN_URL, data={"username": owner.email, "password": owner.password}
                )

            # Up: the pool holds live connections.
            expect(client.get(project_url(project)), 200)
            expect(sign_in(), 200)
            assert_ready_within_budget(client, ready=True)

            database.switch_off()  # pooled connections broken, new ones refused
            for call in (
                lambda: client.get(project_url(project)),
                lambda: client.post(tasks_url(project), json={"title": "Lost"}),
                sign_in,
            ):
                response, elapsed = timed(call)
                assert_unavailable(response)
                assert elapsed < UNAVAILABLE_BOUND, f"took {elapsed:.1f} s"
            assert_ready_within_budget(client, ready=False)
            assert_live(client)

            database.switch_on()
            wait_for_recovery(client, project_url(project))
            # Full service, from the same server process.
            for _ in range(3):
                expect(client.get(project_url(project)), 200)
            task = expect(client.post(tasks_url(project), json={"title": "Back"}), 201)
            assert task["title"] == "Back"
            titles = [t["title"] for t in expect(client.get(tasks_url(project)), 200)["items"]]
            assert titles.count("Lost") == 0 and titles.count("Back") == 1, titles
            expect(sign_in(), 200)
            assert_ready_within_budget(client, ready=True)
            assert extra.process.poll() is None, "the server was restarted or exited"


def test_a_paused_database_is_503_not_a_hang(
    server: Server,
    spawn_server,
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    contract: Contract,
) -> None:
    """Paused (`docker pause`, a stalled host): the pool's connections stay open and nothing
    answers — statement_timeout cannot help, the server never sees the statement; only the
    implementation's own timeouts can turn that into a 503."""
    owner = make_user()
    project = make_project(owner)
    assert server.database_url is not None
    with SwitchableProxy(server.database_url) as database:
        extra = spawn_server(database.url)
        with ContractClient(
            extra.base_url, contract=contract, token=owner.token, timeout=HANG_SECONDS
        ) as client:
            anonymous = client.anonymous()

            def sign_in() -> httpx.Response:
                return anonymous.post(
                    TOKEN_URL, data={"username": owner.email, "password": owner.password}
                )

            expect(client.get(project_url(project)), 200)  # the pool holds live connections
            expect(sign_in(), 200)
            database.freeze()
            try:
                assert_ready_within_budget(client, ready=False)
                for call in (lambda: client.get(project_url(project)), sign_in):
                    response, elapsed = answer_in_time(call)
                    assert_unavailable(response)
                    assert elapsed < UNAVAILABLE_BOUND, f"took {elapsed:.1f} s"
                assert_live(client)
            finally:
                database.thaw()
            wait_for_recovery(client, project_url(project))
            expect(sign_in(), 200)
            assert extra.process.poll() is None, "the server was restarted or exited"


# ------------------------------------------------------------------------ statement_timeout


def behind_a_lock(
    db: psycopg.Connection, calls: list[Callable[[], httpx.Response]]
) -> list[tuple[httpx.Response, float]]:
    """Run `calls` side by side while the test holds the projects table locked; their answers
    and how long each took."""
    with db.transaction():  # holds the lock until the block ends
        db.execute("LOCK TABLE projects IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(answer_in_time, call) for call in calls]
            return [future.result() for future in futures]


def test_a_statement_held_past_five_seconds_is_503(
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    db: psycopg.Connection,
) -> None:
    """statement_timeout counts lock waits (DECISIONS "Database budgets"): a request stuck
    behind a lock is a 503 after 5 s, and the next one, the lock gone, is served."""
    owner = make_user()
    project = make_project(owner)
    reader, writer = owner.client.authed(owner.token), owner.client.authed(owner.token)
    results = behind_a_lock(
        db,
        [
            lambda: reader.get(project_url(project)),
            lambda: writer.post(tasks_url(project), json={"title": "Held"}),
        ],
    )
    for name, (response, elapsed) in zip(("read", "write"), results, strict=True):
        assert_unavailable(response)
        assert elapsed < UNAVAILABLE_BOUND, f"{name} took {elapsed:.1f} s"
    expect(owner.client.get(project_url(project)), 200)
    tasks = expect(owner.client.get(tasks_url(project)), 200)["items"]
    assert [t["title"] for t in tasks] == [], "the timed-out create left a task behind"


def test_requests_that_find_no_free_connection_are_503(
    make_user: Callable[..., Account],
    make_project: Callable[..., dict[str, Any]],
    db: psycopg.Connection,
) -> None:
    """More requests than the pool's 10 connections, every one held behind a lock: those left
    without a connection either give up after 5 s or get one as the first ones time out and
    then time out themselves — 503s all, never a 500 or a hang (a sync server queues the extra
    requests for a thread instead, with the same outcome)."""
    owner = make_user()
    project = make_project(owner)
    clients = [owner.client.authed(owner.token) for _ in range(12)]
    results = behind_a_lock(
        db, [lambda c=client: c.get(project_url(project)) for client in clients]
    )
    bound = UNAVAILABLE_BOUND + 5  # a 5 s wait for a connection (or a thread), then 5 s more
    for response, elapsed in results:
        assert_unavailable(response)
        assert elapsed < bound, f"took {elapsed:.1f} s"
    expect(owner.client.get(project_url(project)), 200)
