"""The thread servers' cap on long calls (shared.live.long_calls; the sync streaming model of
Flask and DRF): the cap's arithmetic from GUNICORN_THREADS, admission and refusal, and a slot
given back exactly once however the response body ends — closed before its first byte
included. No server, no database: the servers' behaviour is their own tests'."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from shared.live import long_calls as module
from shared.live.long_calls import LongCalls, long_calls
from shared.live.stream import StreamsFull
from shared.settings import SettingsError, gunicorn_threads, long_calls_per_worker


@pytest.mark.parametrize(
    ("threads", "cap"), [(None, 6), ("", 6), ("8", 6), ("3", 1), ("2", 0), ("1", 0), ("64", 62)]
)
def test_the_cap_is_the_threads_less_two(
    monkeypatch: pytest.MonkeyPatch, threads: str | None, cap: int
) -> None:
    if threads is None:
        monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_THREADS", threads)
    assert long_calls_per_worker() == cap


@pytest.mark.parametrize("threads", ["0", "-1", "eight", "1.5"])
def test_a_bad_thread_count_is_refused(monkeypatch: pytest.MonkeyPatch, threads: str) -> None:
    monkeypatch.setenv("GUNICORN_THREADS", threads)
    with pytest.raises(SettingsError, match="GUNICORN_THREADS"):
        gunicorn_threads()


def test_admits_up_to_the_limit_then_refuses_until_a_slot_is_released() -> None:
    calls = LongCalls(2)
    first, second = calls.admit(), calls.admit()
    with pytest.raises(StreamsFull) as refused:
        calls.admit()
    assert refused.value.retry_after == 5
    assert calls.in_use == 2
    first.release()
    first.release()  # idempotent: one slot back, not two
    assert calls.in_use == 1
    third = calls.admit()
    with pytest.raises(StreamsFull):
        calls.admit()
    second.release()
    third.release()
    assert calls.in_use == 0


def test_a_zero_limit_refuses_every_call() -> None:
    with pytest.raises(StreamsFull):
        LongCalls(0).admit()


def test_concurrent_admissions_never_exceed_the_limit() -> None:
    calls = LongCalls(3)
    admitted: list[object] = []
    refused = 0
    start = threading.Barrier(20)
    lock = threading.Lock()

    def call() -> None:
        nonlocal refused
        start.wait()
        try:
            slot = calls.admit()
        except StreamsFull:
            with lock:
                refused += 1
        else:
            with lock:
                admitted.append(slot)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(admitted), refused, calls.in_use) == (3, 17, 3)


class Resource:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def close(self) -> None:
        self.log.append(self.name)


def _body(log: list[str]) -> Iterator[str]:
    try:
        yield "a"
        yield "b"
    finally:
        log.append("body")


def test_a_held_body_gives_the_slot_back_when_closed_after_the_last_chunk() -> None:
    calls, log = LongCalls(1), []
    body = calls.admit().hold(_body(log), Resource(log, "subscription"))
    assert list(body) == ["a", "b"]
    assert calls.in_use == 1  # iterated to the end, not yet closed by the server
    body.close()
    assert (log, calls.in_use) == (["body", "subscription"], 0)


def test_a_held_body_closed_mid_stream_closes_the_body_and_its_resources() -> None:
    calls, log = LongCalls(1), []
    body = calls.admit().hold(_body(log), Resource(log, "subscription"))
    assert next(iter(body)) == "a"
    body.close()  # the server's write to a gone client failed
    assert (log, calls.in_use) == (["body", "subscription"], 0)


def test_a_held_body_closed_before_its_first_chunk_still_releases_everything() -> None:
    # A generator closed before it started runs no `finally`: the resource is closed anyway.
    calls, log = LongCalls(1), []
    body = calls.admit().hold(_body(log), Resource(log, "subscription"))
    body.close()
    body.close()  # a second close gives nothing back twice
    assert (log, calls.in_use) == (["subscription"], 0)


def test_a_failing_close_still_closes_the_rest_and_releases_the_slot() -> None:
    class Broken:
        def close(self) -> None:
            raise RuntimeError("broken")

    calls, log = LongCalls(1), []
    body = calls.admit().hold(iter(["x"]), Broken(), Resource(log, "subscription"))
    with pytest.raises(RuntimeError):
        body.close()
    assert (log, calls.in_use) == (["subscription"], 0)


def test_the_process_has_one_instance_sized_from_the_setting_and_a_fresh_one_after_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GUNICORN_THREADS", "5")
    monkeypatch.setattr(module, "_process_calls", None)
    calls = long_calls()
    assert (calls.limit, long_calls() is calls) == (3, True)
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as seen from a forked child
    assert long_calls() is not calls


def test_a_graceful_stop_runs_each_registered_callback_once_even_if_one_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "_stop_callbacks", [])
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("broken")

    module.on_graceful_stop(broken)
    module.on_graceful_stop(lambda: ran.append("hub.close"))
    module.graceful_stop()
    module.graceful_stop()  # a second stop has nothing left to run
    assert ran == ["broken", "hub.close"]
