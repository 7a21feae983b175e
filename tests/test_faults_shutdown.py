"""SIGTERM under load (issue 13; contract/DECISIONS.md, "Operations"): requests in flight when
the signal comes get their normal answers, no connection is reset, new connections are refused
from then on, and the process exits 0 — promptly once its work is done, even with an idle
keep-alive connection open (gunicorn once waited out its whole 30 s graceful timeout).

One thing no server controls: a connection the kernel completed in the last instant before the
listener closed, still in its accept queue, is reset when the listener closes. So a reset is
tolerated only for a connection made within ACCEPT_GRACE of the signal (the gunicorn worker
accepts its queue before closing — shared/gunicorn_worker.py); an earlier connection was the
server's to serve."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest

from support.paths import task_url, tasks_url

pytestmark = [pytest.mark.fault, pytest.mark.slow]

CLIENTS = 6
LOAD_BEFORE = 2.0
# Exit comes once in-flight work is done; the graceful timeout (30 s) is for slow requests, not
# for idle connections. Generous for a loaded 2-core machine, well short of 30 s.
EXIT_BUDGET = 12.0
ACCEPT_GRACE = 0.5


@dataclass
class Outcome:
    started: float
    ended: float
    status: int | None
    error: str | None = None
    connected: float | None = None  # when the TCP handshake completed


def _load(base_url, token, project_id, task_id, stop, outcomes, lock) -> None:
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    turn = 0
    while not stop.is_set():
        turn += 1
        started = time.monotonic()
        outcome = Outcome(started, started, None)

        def trace(event: str, info: dict, outcome: Outcome = outcome) -> None:
            if event == "connection.connect_tcp.complete":
                outcome.connected = time.monotonic()

        try:
            # A new connection per request: what a refused connection looks like is then clear.
            with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
                if turn % 3 == 0:
                    response = client.post(
                        tasks_url(project_id),
                        json={"title": f"t-{uuid.uuid4().hex[:8]}"},
                        extensions={"trace": trace},
                    )
                elif turn % 3 == 1:
                    response = client.get(tasks_url(project_id), extensions={"trace": trace})
                else:
                    response = client.get(task_url(task_id), extensions={"trace": trace})
            outcome.status = response.status_code
        except httpx.ConnectError:
            outcome.error = "refused"
        except httpx.HTTPError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.ended = time.monotonic()
        with lock:
            outcomes.append(outcome)
        if outcome.error == "refused":
            time.sleep(0.05)


def test_sigterm_under_load(server, spawn_server, make_user, make_project, make_task) -> None:
    owner = make_user()
    project = make_project(owner)
    task = make_task(project, owner)
    extra = spawn_server()

    idle = httpx.Client(base_url=extra.base_url, timeout=30)  # one idle keep-alive connection
    assert idle.get("/healthz").status_code == 200

    outcomes: list[Outcome] = []
    lock, stop = threading.Lock(), threading.Event()
    threads = [
        threading.Thread(
            target=_load,
            args=(extra.base_url, owner.token, project["id"], task["id"], stop, outcomes, lock),
            daemon=True,
        )
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_BEFORE)
    signalled = time.monotonic()
    extra.terminate()
    code = extra.wait(35)
    exited_in = time.monotonic() - signalled
    time.sleep(0.5)  # a few refused connections after the exit, too
    stop.set()
    for thread in threads:
        thread.join(40)
    idle.close()

    assert code == 0, f"exit status {code}"
    assert exited_in < EXIT_BUDGET, f"took {exited_in:.1f} s to exit after SIGTERM"
    assert any(o.started < signalled for o in outcomes)
    # Every answer is a normal one: in flight at the signal or accepted just before the
    # listener closed, a request is served as usual.
    assert all(o.status < 300 for o in outcomes if o.status is not None)
    # A refused connection only once the server stopped listening.
    refused_early = [o for o in outcomes if o.error == "refused" and o.ended < signalled]
    assert not refused_early, refused_early[:5]
    # A reset or a dropped connection only for one still in the accept queue (see above).
    dropped = [o for o in outcomes if o.error and o.error != "refused"]
    unexplained = [
        o for o in dropped if o.connected is not None and o.connected < signalled - ACCEPT_GRACE
    ]
    assert not unexplained, unexplained[:5]
    assert any(o.error == "refused" for o in outcomes), "new connections were never refused"
    print(
        f"\n[{server.impl}] SIGTERM under {CLIENTS} clients: {len(outcomes)} requests, exit "
        f"{code} after {exited_in:.1f} s, {sum(o.error == 'refused' for o in outcomes)} refused, "
        f"{len(dropped)} dropped in the accept queue"
    )
