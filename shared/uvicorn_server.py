"""uvicorn's server, ending the process's endless long calls as soon as a graceful stop begins
(contract/DECISIONS.md, "Operations": SIGTERM) — the asyncio counterpart of
shared.gunicorn_worker.

On SIGTERM (or SIGINT) uvicorn stops listening, then waits up to its graceful timeout for open
connections, and only then runs the application's lifespan shutdown. An event stream lasts until
its token expires, so it would hold the stop for the whole timeout and then be cut mid-body. This
server first runs shared.live.long_calls.graceful_stop() — the callbacks the FastAPI and
Litestar lifespans registered, which end their hub's streams (their responses complete; clients
resume elsewhere with Last-Event-ID) — then stops as uvicorn does: ordinary requests in flight
finish.

`run(config)` is what `uvicorn.run` does with a config, with this server in every process."""

from __future__ import annotations

import contextlib
import socket
import sys

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess, multiprocess

from shared.live.long_calls import graceful_stop


class GracefulServer(Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # First: uvicorn then waits for every connection, an open stream's too. Here, in the
        # event loop rather than in the signal handler, the callbacks may set asyncio events.
        graceful_stop()
        await super().shutdown(sockets)


class _GracefulProcess(multiprocess.Process):
    """A worker of uvicorn's supervisor that serves with GracefulServer (pickled into the
    spawned child by reference, so this module must stay importable there)."""

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = GracefulServer(config=self.config)
        return self._server


def run(config: Config) -> None:
    """Serve `config` until a signal stops it: in this process, or with `config.workers > 1`
    under uvicorn's supervisor (health checks, restarts, SIGHUP/TTIN/TTOU as usual)."""
    if config.workers > 1:
        _supervise(config)
        return
    server = GracefulServer(config)
    # uvicorn re-raises the SIGINT that stopped it once it has shut down (a KeyboardInterrupt).
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _supervise(config: Config) -> None:
    # The supervisor names its worker class in several methods and offers no hook for it; only
    # this (parent) process needs the substitution: the children unpickle the class by name.
    stock = multiprocess.Process
    multiprocess.Process = _GracefulProcess  # type: ignore[misc]
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        multiprocess.Process = stock  # type: ignore[misc]
