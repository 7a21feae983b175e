"""Quartet's black-box contract suite: fixtures and command-line options.

The suite talks HTTP to a running server (and, for a few operational tests, SQL to its
database). It never imports implementation code.

Command line
------------
``--impl NAME``      implementation to test; repeatable. Default: every built one
                     (``shared.implementations.built()``). Unknown or unbuilt → usage error.
``--base-url URL``   test an already-running server instead (admin credentials from
                     ``QUARTET_ADMIN_EMAIL`` / ``QUARTET_ADMIN_PASSWORD``). Not with ``--impl``.
``QUARTET_TEST_DATABASE_URL``  create the test databases on this PostgreSQL server instead of
                     an embedded throwaway cluster.

Fixtures
--------
``server``  (session, parametrized over the selected implementations: test ids ``[fastapi]``)
    ``.impl`` (name, or ``"remote"``), ``.base_url``, ``.database_url`` (None with --base-url),
    ``.admin_email``, ``.admin_password``, ``.process`` (the ``ServerProcess``; None if remote).
    One server per implementation per session, on a fresh database
    (``quartet_test_<impl>_<random>``) that ``quartet db migrate`` and ``quartet create-admin``
    prepared, run as ``quartet serve IMPL`` with SECRET_KEY=<fixed test key>,
    CORS_ORIGINS=https://allowed.example, ACCESS_TOKEN_TTL_SECONDS=1800. Tests run grouped by
    implementation.
``api``     anonymous ``ContractClient`` (an ``httpx.Client`` on ``server.base_url``). EVERY
    response it (or a client derived from it) receives is validated against
    contract/openapi.yaml; a violation raises AssertionError. ``api.authed(token)`` → a client
    sending ``Authorization: Bearer <token>``; ``api.anonymous()`` → another anonymous one.
``admin``   ``ContractClient`` authenticated as the server's admin.
``make_user(*, display_name=None, email=None, is_admin=False, password=None) -> Account``
    creates a user through ``POST /api/v1/users`` (unique ``u-<hex>@example.com``, a 41-char
    password) and logs in. ``Account(id, email, password, display_name, is_admin, token,
    client)``; ``client`` is an authenticated ``ContractClient``.
``make_project(owner, **body) -> dict``        POST /api/v1/projects as ``owner`` (201).
``add_member(project, owner, user, role) -> dict``  PUT .../members/{user.id} (200 or 201).
``make_label(project, account, **body) -> dict``    POST .../labels (201).
``make_task(project, account, **body) -> dict``     POST .../tasks (201).
``make_comment(task, account, body=...) -> dict``   POST /api/v1/tasks/{id}/comments (201).
    Factories fill in unique required fields; keyword arguments override the request body.
``db``      psycopg connection (sync, autocommit) to the server's database; skips the test
    with --base-url.
``spawn_server(database_url=None, *, env=None, wait=True) -> ServerProcess``  an extra server of
    the same implementation (default: on the same database), stopped after the test; skips the
    test with --base-url.
``pg_cluster``  the ``PostgresCluster`` the databases live on; skips with --base-url.
``server_pool``  the session's ``ServerPool`` (``.get(impl)``); skips with --base-url.
``peer_impl``  requesting it parametrizes the test over a ring of ordered pairs ``(server.impl,
    peer_impl)`` of the selected implementations (ids ``[fastapi-litestar]``; both directions
    when two are selected), or the pair ``(impl, impl)`` when only one is selected
    (cross-implementation tests).
``people``  pooled identities (``support.people``): ``people.get(3)`` → three ``Account``s,
    ``people.get(1, is_admin=True)``; within one test each is a different user. For role
    matrices; a test about a user's own data (profile, project list) uses ``make_user``.

Helpers (``tests/support/``, one module per job; tests import from there only)
-------------------------------------------------------------------------------
``support.paths``      ``API``, ``TOKEN_URL``, ``ME_URL``, ``USERS_URL``, ``PROJECTS_URL``,
    ``NOTIFICATIONS_URL`` and the URL of every resource: ``user_url``, ``project_url``,
    ``members_url``, ``member_url``, ``labels_url``, ``label_url``, ``tasks_url``,
    ``activity_url``, ``events_url``, ``task_url``, ``comments_url``, ``comment_url``,
    ``notification_read_url`` (each takes the resource dict or its id);
    ``expand(template, default, **ids)`` fills a contract path template.
``support.responses``  ``expect(response, *statuses)`` → the JSON body of a successful answer;
    ``get_json(client, url, params=None)`` → the body of a GET that must answer 200.
``support.problems``   ``assert_problem(response, status)`` → the problem body (media type,
    type, the contract's title, status, detail, ``errors`` on 422 only);
    ``error_set(response)`` → a 422's ``{(loc, type)}``; ``assert_errors(response, *errors)``
    → exactly those; ``assert_unauthorized(response)`` → a 401 with a Bearer challenge.
``support.pagination`` ``walk`` / ``walk_pages`` (every item / page of a list, checking the
    page contract), ``first_page``, ``query_pairs``, ``ids``, ``activity(client, project)``.
``support.wire``       ``summary(account)``, ``assert_timestamp(value)``, the ETag oracle:
    ``representation_etag(body)``, ``assert_etag(response)`` (well-formed, the hash of its own
    body), ``NEVER_MATCHES`` (a well-formed stale ETag).
``support.locks``      ``row_locked`` / ``table_locked`` (hold a lock from the test's side),
    ``wait_for_lock_waiters(db, n)``: make a race deterministic; ``send_together(calls)``.
``support.activity``   ``entry_shape``, ``added_since``, ``task_updates``, ``assert_invariant``.
``support.idempotency`` ``KEY``, ``KEY_LOC``, ``new_key()``, ``assert_replay(first, replay)``.
``support.factories``  ``Account``, ``create_account``, ``login``, ``unique(prefix)``,
    ``random_id()``.
``support.people``     ``People``, behind the ``people`` fixture.
``support.sse``        the event stream's client (contract 1.2): ``open_stream`` / ``Streams``
    (``subscribe`` waits for the first ``: ping``), ``EventStream.next_event`` / ``events`` /
    ``quiet`` / ``close`` (mid-stream), ``Frame`` (arrival time, fields, ``json()``, ``seq``).
``support.live``       ``seq_of``, the listener's backends (``listener_pids``,
    ``terminate_listeners``), ``request_backends``, ``server_holds_connection`` (TCP state of a
    server's end), ``threaded(impl)``, ``wait_until``.
``support.webhooks``   ``receiving()`` — a local webhook receiver with per-task ``Answer`` plans;
    ``Delivery.verified()`` checks the signature with ``standardwebhooks``; ``webhook_env``.
Harness: ``support.client`` (the validating ``ContractClient``), ``support.contract`` (the
contract as a validator; ``REASON_PHRASES``), ``support.servers``, ``support.normalise``,
``support.plans``, ``support.outage`` (databases that are not there: ``Blackhole`` accepts and
never answers; ``SwitchableProxy`` can be switched off and on, or frozen and thawed); the
statement-counting and -capturing PostgreSQL proxy is ``shared.pgproxy`` (``quartet bench``
uses it too).

Expected values come from the contract (contract/openapi.yaml, contract/DECISIONS.md), spelled
out in the suite: it never takes them from ``shared/``, which the implementations use, so an
implementation that drifts together with its own table still fails.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.implementations import UnknownImplementation, built, resolve
from support.client import ContractClient
from support.contract import Contract
from support.factories import Account, create_account, login, unique
from support.paths import PROJECTS_URL, comments_url, labels_url, member_url, tasks_url
from support.people import People
from support.responses import expect
from support.servers import (
    TOKEN_REFRESH_SECONDS,
    PostgresCluster,
    Server,
    ServerPool,
    ServerProcess,
    start_server,
)

REMOTE = "remote"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quartet", "Quartet contract suite")
    group.addoption(
        "--impl",
        action="append",
        default=[],
        metavar="NAME",
        help="implementation to test (repeatable; default: every built one)",
    )
    group.addoption(
        "--base-url",
        default=None,
        metavar="URL",
        help="test an already-running server (admin credentials from "
        "QUARTET_ADMIN_EMAIL / QUARTET_ADMIN_PASSWORD)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # pgserver asks platformdirs for a runtime dir it never uses; the warning is noise.
    config.addinivalue_line("filterwarnings", "ignore:XDG_RUNTIME_DIR:Warning")
    names: list[str] = config.getoption("impl")
    base_url: str | None = config.getoption("base_url")
    if base_url:
        if names:
            raise pytest.UsageError("--impl and --base-url are mutually exclusive")
        if not base_url.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--base-url must be an http(s) URL, got {base_url!r}")
        missing = [
            n for n in ("QUARTET_ADMIN_EMAIL", "QUARTET_ADMIN_PASSWORD") if not os.environ.get(n)
        ]
        if missing:
            raise pytest.UsageError(f"--base-url needs {' and '.join(missing)} in the environment")
        config.quartet_impls = [REMOTE]  # type: ignore[attr-defined]
        return
    selected: list[str] = []
    for name in names:
        try:
            resolve(name)
        except UnknownImplementation as exc:
            raise pytest.UsageError(str(exc)) from None
        if name not in selected:
            selected.append(name)
    config.quartet_impls = selected or built()  # type: ignore[attr-defined]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    impls: list[str] = metafunc.config.quartet_impls  # type: ignore[attr-defined]
    if "peer_impl" in metafunc.fixturenames:
        # A ring of ordered pairs: each implementation writes for the next and reads what the
        # previous wrote — both directions when two are selected, every implementation as
        # writer and as reader with more, in len(impls) server starts instead of n·(n-1).
        # With one implementation, the pair (it, it) proves the mechanism.
        pairs = [(a, impls[(i + 1) % len(impls)]) for i, a in enumerate(impls)]
        metafunc.parametrize(
            ["server", "peer_impl"],
            [pytest.param(a, b, id=f"{a}-{b}", marks=_same_worker(a)) for a, b in pairs],
            indirect=["server"],
            scope="session",
        )
    elif "server" in metafunc.fixturenames:
        metafunc.parametrize(
            "server",
            [pytest.param(i, id=i, marks=_same_worker(i)) for i in impls],
            indirect=True,
            scope="session",
        )


def _same_worker(impl: str) -> pytest.MarkDecorator:
    """Under pytest-xdist (`--dist loadgroup`), all of one implementation's tests run in one
    worker: one server and one database per implementation, implementations in parallel."""
    return pytest.mark.xdist_group(impl)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run one implementation's tests together (stable: keeps the order within each)."""
    order = {name: i for i, name in enumerate(config.quartet_impls)}  # type: ignore[attr-defined]

    def impl_rank(item: pytest.Item) -> int:
        callspec = getattr(item, "callspec", None)
        if callspec is None or "server" not in callspec.params:
            return -1  # tests without a server first
        return order.get(callspec.params["server"], len(order))

    items.sort(key=impl_rank)


# ------------------------------------------------------------------------ servers


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract.load()


@pytest.fixture(scope="session")
def _cluster_holder() -> Iterator[dict[str, Any]]:
    holder: dict[str, Any] = {}
    yield holder
    cluster: PostgresCluster | None = holder.get("cluster")
    if cluster is not None:
        if cluster.embedded:
            cluster.release()  # stopped and deleted as a whole
        else:
            cluster.drop_databases()


@pytest.fixture(scope="session")
def _server_pool(_cluster_holder: dict[str, Any]) -> Iterator[ServerPool]:
    def cluster() -> PostgresCluster:
        if "error" in _cluster_holder:  # fail every later test fast, with the first reason
            raise RuntimeError(f"PostgreSQL could not be started: {_cluster_holder['error']}")
        if "cluster" not in _cluster_holder:  # started on first use only
            # Not under pytest's tmp dir: pgserver runs PostgreSQL as another user when the
            # suite runs as root, and that user cannot enter pytest's 0700 directories.
            data_dir = Path(tempfile.mkdtemp(prefix="quartet-test-pg-"))
            try:
                _cluster_holder["cluster"] = PostgresCluster.from_environment(data_dir)
            except Exception as exc:
                _cluster_holder["error"] = f"{type(exc).__name__}: {exc}"
                raise
        return _cluster_holder["cluster"]

    pool = ServerPool(cluster)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest) -> Server:
    impl: str = request.param
    if impl == REMOTE:
        return Server(
            REMOTE,
            request.config.getoption("base_url").rstrip("/"),
            None,
            os.environ["QUARTET_ADMIN_EMAIL"],
            os.environ["QUARTET_ADMIN_PASSWORD"],
        )
    pool: ServerPool = request.getfixturevalue("_server_pool")
    return pool.get(impl)


@pytest.fixture
def server_pool(server: Server, _server_pool: ServerPool) -> ServerPool:
    """The session's servers, e.g. ``server_pool.get("litestar")`` (cross-implementation)."""
    if server.is_remote:
        pytest.skip("needs servers the suite starts itself (not with --base-url)")
    return _server_pool


@pytest.fixture
def pg_cluster(server: Server, _server_pool: ServerPool) -> PostgresCluster:
    if server.is_remote:
        pytest.skip("needs the suite's own PostgreSQL (not with --base-url)")
    return _server_pool.cluster()


@pytest.fixture
def spawn_server(server: Server) -> Iterator[Callable[..., ServerProcess]]:
    if server.is_remote:
        pytest.skip("starts extra servers (not with --base-url)")
    started: list[ServerProcess] = []

    def spawn(
        database_url: str | None = None, *, env: dict[str, str] | None = None, wait: bool = True
    ) -> ServerProcess:
        process = start_server(server.impl, database_url or server.database_url, env=env, wait=wait)
        started.append(process)
        return process

    yield spawn
    for process in started:
        process.stop()


@pytest.fixture
def db(server: Server) -> Iterator[psycopg.Connection]:
    if server.database_url is None:
        pytest.skip("needs the server's database (not with --base-url)")
    with psycopg.connect(server.database_url, autocommit=True) as conn:
        yield conn


# ------------------------------------------------------------------------ clients


@pytest.fixture
def api(server: Server, contract: Contract) -> Iterator[ContractClient]:
    client = ContractClient(server.base_url, contract=contract)
    yield client
    client.close()


def _admin_token(server: Server, api: ContractClient) -> str:
    # One login per server (argon2 is deliberately slow), renewed before the token expires: on a
    # loaded machine the suite outlives ACCESS_TOKEN_TTL_SECONDS, and every admin call then
    # failed with 401.
    if (
        server._admin_token is None
        or time.monotonic() - server._admin_token_since > TOKEN_REFRESH_SECONDS
    ):
        server._admin_token = login(api, server.admin_email, server.admin_password)
        server._admin_token_since = time.monotonic()
    return server._admin_token


@pytest.fixture
def admin(server: Server, api: ContractClient) -> ContractClient:
    return api.authed(_admin_token(server, api))


# ------------------------------------------------------------------------ factories


@pytest.fixture
def make_user(api: ContractClient, admin: ContractClient) -> Callable[..., Account]:
    def make(
        *,
        display_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        password: str | None = None,
    ) -> Account:
        return create_account(
            api, admin, display_name=display_name, email=email, is_admin=is_admin, password=password
        )

    return make


@pytest.fixture
def make_project() -> Callable[..., dict[str, Any]]:
    def make(owner: Account, **body: Any) -> dict[str, Any]:
        body.setdefault("name", unique("Project"))
        return expect(owner.client.post(PROJECTS_URL, json=body), 201)

    return make


@pytest.fixture
def add_member() -> Callable[..., dict[str, Any]]:
    def add(project: dict[str, Any], owner: Account, user: Account, role: str) -> dict[str, Any]:
        response = owner.client.put(member_url(project, user.id), json={"role": role})
        return expect(response, 200, 201)

    return add


@pytest.fixture
def make_label() -> Callable[..., dict[str, Any]]:
    def make(project: dict[str, Any], account: Account, **body: Any) -> dict[str, Any]:
        body.setdefault("name", unique("label"))
        body.setdefault("color", "#336699")
        return expect(account.client.post(labels_url(project), json=body), 201)

    return make


@pytest.fixture
def make_task() -> Callable[..., dict[str, Any]]:
    def make(project: dict[str, Any], account: Account, **body: Any) -> dict[str, Any]:
        body.setdefault("title", unique("Task"))
        return expect(account.client.post(tasks_url(project), json=body), 201)

    return make


@pytest.fixture
def make_comment() -> Callable[..., dict[str, Any]]:
    def make(
        task: dict[str, Any], account: Account, body: str = "A comment from the contract suite."
    ) -> dict[str, Any]:
        return expect(account.client.post(comments_url(task), json={"body": body}), 201)

    return make


@pytest.fixture
def people(server: Server, api: ContractClient, admin: ContractClient) -> People:
    """Pooled identities (see ``support.people``)."""
    return People(server.base_url, api, admin)
