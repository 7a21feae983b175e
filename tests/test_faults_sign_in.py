"""Sign-in under a flood (issue 13; contract/DECISIONS.md, "Throttled sign-in", "Secrets and
passwords"): argon2 at the production profile (64 MiB, a few hundred milliseconds each here)
runs with no database connection held, at most four at once per server process; a sign-in that
gets no hashing slot within a second is a 503 problem with `Retry-After: 1`.

The server under test runs at PASSWORD_HASH_PROFILE=standard (the suite's own run at the test
profile) and, for the gunicorn implementations, with more threads than the flood has requests,
so that the hashing bound and the pool are what is tested, not gunicorn's thread count. Users
are made by the suite's server, so their hashes are test-profile ones (the flood's are replaced
by costlier ones: see LINGER_SECONDS): a first success on the standard server re-hashes them,
which is sign-in's work too.

The first tests prove the bound in shared.passwords itself (the only tests here that import
project code): the sync gate and the async one, which must wait on the event loop, not in a
thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import anyio
import httpx
import psycopg
import pytest
from argon2 import PasswordHasher

from shared.passwords import HashingSlots, PasswordHashingBusy
from support.client import ContractClient
from support.contract import Contract
from support.factories import Account
from support.paths import PROJECTS_URL, TOKEN_URL
from support.problems import assert_problem, assert_unauthorized
from support.responses import expect
from support.servers import Server, ServerProcess, start_server

pytestmark = pytest.mark.fault

# contract/DECISIONS.md, "Secrets and passwords".
HASHING_SLOTS = 4
SLOT_WAIT_SECONDS = 1.0

FLOOD = 24  # concurrent sign-ins: more than the pool has connections (10), as issue 13 says
PAST_THE_BOUND = 32  # many more than four slots serve within a second on a 2-core machine
THREADS = "64"  # GUNICORN_THREADS of the server under test: more than either flood
READ_BUDGET = 2.0  # seconds: a read during the flood, behaviour not benchmark
ANSWER_BUDGET = 20.0  # no sign-in answer takes longer: never a hang
# A session "idle in transaction" between two statements of a short transaction is fine; one
# that stays so while argon2 runs is the defect. A loaded 2-core machine (CI) has been seen to
# starve a request thread for 0.56 s between two statements while argon2 took both cores — the
# length of a standard hash under the flood — so the flood's users get a stored hash that costs
# several times more (argon2 verifies at the stored hash's parameters): its wave of four takes
# about 2 s, far above the bar, and the scheduling noise stays far below it.
LINGER_SECONDS = 1.0
SLOW_HASH = PasswordHasher(time_cost=16, memory_cost=64 * 1024, parallelism=4)  # ~1 s of CPU


# ------------------------------------------------------------------ the gate itself


def test_the_sync_gate_times_out_and_gives_every_slot_back() -> None:
    slots = HashingSlots(2, wait_seconds=0.2)
    holding = threading.Barrier(3)
    release = threading.Event()

    def hold() -> None:
        with slots.taken():
            holding.wait()
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    holding.wait(10)
    started = time.monotonic()
    with pytest.raises(PasswordHashingBusy), slots.taken():
        pass
    assert time.monotonic() - started >= 0.2, "gave up before the wait was over"
    release.set()
    for thread in holders:
        thread.join(10)

    for _ in range(3):  # a hash that fails gives its slot back
        with pytest.raises(RuntimeError), slots.taken():
            raise RuntimeError("argon2 failed")
    # Both free again, at once; a third is still refused.
    with slots.taken(), slots.taken(), pytest.raises(PasswordHashingBusy), slots.taken():
        pass


def test_the_async_gate_waits_on_the_event_loop_and_gives_every_slot_back() -> None:
    slots = HashingSlots(2, wait_seconds=0.3)

    async def scenario() -> None:
        release = threading.Event()
        threads = anyio.to_thread.current_default_thread_limiter()
        before = threads.borrowed_tokens
        async with anyio.create_task_group() as group:
            for _ in range(2):  # two hashes that run until released
                group.start_soon(slots.run_async, release.wait, 10)
            while threads.borrowed_tokens < before + 2:
                await anyio.sleep(0.01)
            started = time.monotonic()
            with pytest.raises(PasswordHashingBusy):
                await slots.run_async(time.sleep, 0)
            assert time.monotonic() - started >= 0.3, "gave up before the wait was over"

            waiters: list[object] = []

            async def wait_for_a_slot() -> None:
                waiters.append(await slots.run_async(lambda: "served"))

            for _ in range(3):
                group.start_soon(wait_for_a_slot)
            await anyio.sleep(0.05)
            # The three wait on the event loop: still only the two hashes hold a thread.
            assert threads.borrowed_tokens == before + 2
            release.set()
        assert waiters == ["served"] * 3

        for _ in range(3):  # a hash that fails gives its slot back
            with pytest.raises(RuntimeError):
                await slots.run_async(_fail)
        both = threading.Barrier(2)  # broken unless both slots are free again, at once
        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(slots.run_async, both.wait, 5)

    anyio.run(scenario)
    anyio.run(scenario)  # the gate works on another event loop too (one limiter per loop)


def _fail() -> None:
    raise RuntimeError("argon2 failed")


# ------------------------------------------------------------------ a server at the real cost


@pytest.fixture(scope="module")
def hashing_server(server: Server) -> Iterator[ServerProcess]:
    if server.is_remote or server.database_url is None:
        pytest.skip("starts a server of its own (not with --base-url)")
    process = start_server(
        server.impl,
        server.database_url,
        env={"PASSWORD_HASH_PROFILE": "standard", "GUNICORN_THREADS": THREADS},
    )
    yield process
    process.stop()


@dataclass
class Answer:
    response: httpx.Response
    seconds: float


def _sign_in_together(
    base_url: str, contract: Contract, credentials: list[tuple[str, str]]
) -> list[Answer]:
    """All of `credentials` sent at the same moment, each on a connection of its own."""
    barrier = threading.Barrier(len(credentials))
    client = ContractClient(
        base_url,
        contract=contract,
        timeout=ANSWER_BUDGET,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )

    def sign_in(email: str, password: str) -> Answer:
        barrier.wait(30)
        started = time.monotonic()
        response = client.post(TOKEN_URL, data={"username": email, "password": password})
        return Answer(response, time.monotonic() - started)

    with client, ThreadPoolExecutor(len(credentials)) as pool:
        futures = [pool.submit(sign_in, *pair) for pair in credentials]
        return [future.result() for future in futures]


def _assert_busy(answer: Answer) -> None:
    assert_problem(answer.response, 503)
    assert answer.response.headers.get("retry-after") == "1", answer.response.headers
    assert answer.seconds >= SLOT_WAIT_SECONDS * 0.9, (
        f"503 after {answer.seconds:.2f} s: a sign-in waits {SLOT_WAIT_SECONDS} s for a slot"
    )


def _unknown_email() -> str:
    return f"nobody-{uuid.uuid4().hex}@example.com"


class _Sampler:
    """Calls `sample` every `interval` seconds on a thread of its own until the `with` ends;
    what it raised is raised there."""

    def __init__(self, sample: Callable[[], None], interval: float) -> None:
        self._sample = sample
        self._interval = interval
        self._stop = threading.Event()
        self._thread = ThreadPoolExecutor(1)
        self._done: Future[None] | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> _Sampler:
        self._done = self._thread.submit(self._run)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.shutdown()
        assert self._done is not None
        self._done.result()


def test_a_sign_in_flood_holds_no_connection_and_reads_stay_quick(
    hashing_server: ServerProcess,
    contract: Contract,
    make_user: Callable[..., Account],
    make_project: Callable[..., dict],
    db: psycopg.Connection,
) -> None:
    users = [make_user() for _ in range(4)]
    make_project(users[0])
    for user in users:  # see LINGER_SECONDS; a success re-hashes it at the server's profile
        db.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s",
            (SLOW_HASH.hash(user.password), user.id),
        )
    # Right passwords, wrong ones (two per user: far from the pair limit) and unknown emails.
    credentials = [
        *((user.email, user.password) for user in users * 2),
        *((user.email, f"not-{user.password}") for user in users * 2),
        *((_unknown_email(), "some-password") for _ in range(FLOOD - 4 * len(users))),
    ]
    right = {(user.email, user.password) for user in users}

    lingering: list[tuple] = []

    def look_at_sessions() -> None:
        lingering.extend(
            db.execute(
                "SELECT pid, round(extract(epoch FROM clock_timestamp() - state_change), 2),"
                " left(query, 80) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state LIKE 'idle in transaction%%'"
                " AND clock_timestamp() - state_change > make_interval(secs => %s)",
                (LINGER_SECONDS,),
            ).fetchall()
        )

    reads: list[tuple[int, float]] = []
    reader = ContractClient(
        hashing_server.base_url, contract=contract, token=users[0].token, timeout=30
    )

    def read() -> None:
        started = time.monotonic()
        status = reader.get(PROJECTS_URL).status_code
        reads.append((status, time.monotonic() - started))

    with reader, _Sampler(look_at_sessions, 0.02), _Sampler(read, 0.05):
        time.sleep(0.2)
        answers = _sign_in_together(hashing_server.base_url, contract, credentials)

    for (email, password), answer in zip(credentials, answers, strict=True):
        assert answer.seconds < ANSWER_BUDGET
        if answer.response.status_code == 503:
            _assert_busy(answer)
        elif (email, password) in right:
            expect(answer.response, 200)
        else:
            assert_unauthorized(answer.response)
    assert any(answer.response.status_code != 503 for answer in answers), "nobody was served"
    assert not lingering, (
        f"sessions sat in a transaction while argon2 ran, up to "
        f"{max(seconds for _, seconds, _ in lingering)} s: {lingering[:5]}"
    )
    assert len(reads) >= 3, reads
    assert {status for status, _ in reads} == {200}, reads
    slowest = max(seconds for _, seconds in reads)
    assert slowest < READ_BUDGET, f"a read took {slowest:.2f} s during the flood: {reads}"


def test_past_the_bound_a_sign_in_is_told_to_come_back(
    hashing_server: ServerProcess, contract: Contract, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    credentials = [(_unknown_email(), "some-password") for _ in range(PAST_THE_BOUND)]
    answers = _sign_in_together(hashing_server.base_url, contract, credentials)

    busy = [answer for answer in answers if answer.response.status_code == 503]
    assert busy, (
        f"{PAST_THE_BOUND} sign-ins at once, at most {HASHING_SLOTS} hashes at a time, and "
        f"none was told to come back after {SLOT_WAIT_SECONDS} s"
    )
    for answer in answers:
        assert answer.seconds < ANSWER_BUDGET
        if answer in busy:
            _assert_busy(answer)
        else:
            assert_unauthorized(answer.response)
    # Every slot was given back: a sign-in now is served at once.
    with ContractClient(hashing_server.base_url, contract=contract) as client:
        response = client.post(TOKEN_URL, data={"username": user.email, "password": user.password})
        expect(response, 200)
