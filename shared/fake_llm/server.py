"""The fake upstream under uvicorn: in a background thread for tests (`FakeLLM`), or in the
foreground for `quartet fake-llm` (`serve`)."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from shared.fake_llm.app import FakeUpstream
from shared.fake_llm.behaviour import Behaviour, RequestRecord

STARTUP_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


class _Server(uvicorn.Server):
    """Ends the fake's hung and stalled requests first when asked to stop: uvicorn's graceful
    shutdown would otherwise wait for them (and their clients) for ever."""

    def __init__(self, config: uvicorn.Config, upstream: FakeUpstream) -> None:
        super().__init__(config)
        self.upstream = upstream

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.upstream.open()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.upstream.close()
        await super().shutdown(sockets)


def _server(upstream: FakeUpstream, *, log_level: str, access_log: bool) -> _Server:
    config = uvicorn.Config(
        upstream,
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return _Server(config, upstream)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # now: connections queue until uvicorn accepts (the URL is printed)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(host: str, port: int) -> str:
    """The URL an OpenAI client (and LLM_BASE_URL) takes: it ends in /v1."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/v1"


class FakeLLM:
    """The fake upstream on a free port of `host`, in a thread with its own event loop.

    with FakeLLM(tokens=5, token_delay_ms=10) as fake:
        client.post(f"{fake.base_url}/chat/completions", json=...)
        fake.behaviour = Behaviour.stall(after=3)
        fake.wait_for(lambda r: r.cancelled, timeout=1)
    """

    def __init__(
        self,
        *,
        tokens: int = 20,
        token_delay_ms: float = 0.0,
        behaviour: Behaviour | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream = FakeUpstream(
            tokens=tokens, token_delay_ms=token_delay_ms, behaviour=behaviour
        )
        self.host = host
        self.port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Settings and records, delegated to the application (safe from any thread).

    @property
    def tokens(self) -> int:
        return self.upstream.tokens

    @tokens.setter
    def tokens(self, value: int) -> None:
        self.upstream.tokens = value

    @property
    def token_delay_ms(self) -> float:
        return self.upstream.token_delay_ms

    @token_delay_ms.setter
    def token_delay_ms(self, value: float) -> None:
        self.upstream.token_delay_ms = value

    @property
    def behaviour(self) -> Behaviour:
        return self.upstream.behaviour

    @behaviour.setter
    def behaviour(self, behaviour: Behaviour) -> None:
        self.upstream.behaviour = behaviour

    @property
    def records(self) -> list[RequestRecord]:
        return self.upstream.records

    @property
    def last(self) -> RequestRecord:
        records = self.upstream.records
        if not records:
            raise LookupError("the fake has received no request")
        return records[-1]

    def wait_for(
        self, predicate: Callable[[RequestRecord], bool], timeout: float = 5.0
    ) -> RequestRecord:
        return self.upstream.wait_for(predicate, timeout)

    def clear_records(self) -> None:
        self.upstream.clear_records()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the fake is not running")
        return base_url(self.host, self.port)

    # Lifecycle.

    def start(self) -> FakeLLM:
        if self._thread is not None:
            raise RuntimeError("the fake is already running")
        sock = _listen(self.host, 0)
        self.port = sock.getsockname()[1]
        server = _server(self.upstream, log_level="warning", access_log=False)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-llm", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                self.port = None
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT_SECONDS)
        self._server = self._thread = None
        self.port = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str, port: int, *, tokens: int, token_delay_ms: float, behaviour: Behaviour
) -> None:
    """Run in the foreground until SIGINT/SIGTERM. Prints `LLM_BASE_URL=...` on stdout once
    it listens. OSError when the address cannot be bound."""
    sock = _listen(host, port)
    upstream = FakeUpstream(tokens=tokens, token_delay_ms=token_delay_ms, behaviour=behaviour)
    server = _server(upstream, log_level="info", access_log=True)
    print(f"LLM_BASE_URL={base_url(host, port)}", flush=True)
    print(
        f"fake LLM upstream: {tokens} tokens, {token_delay_ms:g} ms per token, "
        f"mode {behaviour.mode}" + (f" after {behaviour.after}" if behaviour.after else "") + "; "
        f"records at {base_url(host, port).removesuffix('/v1')}/_fake/records",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down; a stop by SIGTERM is
    # a normal end (exit 0), as for `quartet serve`.
    signal.signal(signal.SIGTERM, lambda *_: None)
    server.run(sockets=[sock])
