"""Running requests at the same moment: each call in its own thread, all released together by a
barrier, so the server sees them as close together as a client can make it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx


def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls together; their responses, in the order given. A transport error (a reset
    connection, a timeout) propagates: under a race the server must still answer."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def statuses(responses: list[httpx.Response]) -> tuple[int, ...]:
    return tuple(response.status_code for response in responses)
