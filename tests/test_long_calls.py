"""The thread servers' cap on long calls (shared.live.long_calls; the sync streaming model of
Flask and DRF): the cap's arithmetic from GUNICORN_THREADS, admission and refusal, and a slot
given back exactly once however the response body ends — closed before its first byte
included; the check of whether a client has closed its connection (on real sockets). No server,
no database: the servers' behaviour is their own tests'."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shared.live import long_calls as module
from shared.live.long_calls import LongCalls, client_gone, long_calls, peer_closed
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
    monkeypatch.setattr(module, "_stopping", False)  # restored: this process goes on serving
    ran: list[str] = []

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("broken")

    module.on_graceful_stop(broken)
    module.on_graceful_stop(lambda: ran.append("hub.close"))
    module.graceful_stop()
    module.graceful_stop()  # a second stop has nothing left to run
    assert ran == ["broken", "hub.close"]


def test_what_registers_after_the_stop_has_begun_runs_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DRF makes its hub on a worker's first stream, which the worker may accept just before its
    listener closes: that hub must not outlive the stop (it held gunicorn for its whole 30 s)."""
    monkeypatch.setattr(module, "_stop_callbacks", [])
    monkeypatch.setattr(module, "_stopping", False)
    ran: list[str] = []
    module.on_graceful_stop(lambda: ran.append("early"))
    assert ran == []
    module.graceful_stop()
    assert ran == ["early"]
    module.on_graceful_stop(lambda: ran.append("late"))
    assert ran == ["early", "late"]


# ------------------------------------------------------------------ a client that has gone


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(the server's end, the client's end) of a real TCP connection."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    server.setblocking(True)  # as gunicorn's gthread worker hands it to a request thread
    with server, client:
        yield server, client


def test_an_open_connection_is_not_gone_and_asking_never_blocks(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, _client = connection
    check = client_gone({"gunicorn.socket": server})
    assert check is not None
    assert check() is False
    assert check() is False


def test_a_connection_the_client_closed_is_gone(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    client.close()
    assert wait_for(lambda: peer_closed(server))


def test_a_reset_connection_is_gone(connection: tuple[socket.socket, socket.socket]) -> None:
    server, client = connection
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # linger 0: a reset, not a FIN
    assert wait_for(lambda: peer_closed(server))


def test_bytes_the_client_sent_are_not_gone_and_stay_unread(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    # A pipelined request: the client is still there, and its bytes are the server's to read.
    server, client = connection
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert wait_for(lambda: server.recv(64, socket.MSG_PEEK) != b"")
    assert peer_closed(server) is False
    assert server.recv(64) == b"GET / HTTP/1.1\r\n"


def test_a_socket_the_server_closed_already_is_gone(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, _client = connection
    server.close()
    assert peer_closed(server) is True


def test_without_the_server_socket_there_is_no_check() -> None:
    assert client_gone({}) is None
    assert client_gone({"gunicorn.socket": object()}) is None


def wait_for(condition: Callable[[], bool], seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
