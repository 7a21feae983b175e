"""Run an implementation under its production server, in this process (so SIGTERM reaches the
server directly and the embedded database, if any, is stopped when it exits)."""

from __future__ import annotations

import os
import signal

from shared.implementations import Implementation
from shared.settings import gunicorn_threads

GRACEFUL_SHUTDOWN_SECONDS = 30


def run(impl: Implementation, host: str, port: int, workers: int) -> None:
    if impl.server == "uvicorn":
        _run_uvicorn(impl, host, port, workers)
    else:
        _run_gunicorn(impl, host, port, workers)


def _run_uvicorn(impl: Implementation, host: str, port: int, workers: int) -> None:
    import uvicorn

    from shared import uvicorn_server
    from shared.logredact import uvicorn_log_config

    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; under the
    # default SIGTERM disposition that kills the process (status -15). A graceful stop is a
    # success (contract/DECISIONS.md, "Operations": exit 0), so the re-raised SIGTERM is
    # absorbed here.
    signal.signal(signal.SIGTERM, lambda *_: None)
    config = uvicorn.Config(
        impl.target,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        access_log=os.environ.get("ACCESS_LOG", "1") != "0",
        log_config=uvicorn_log_config(),  # ?access_token= never reaches the log
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # uvicorn.run, but with a server that ends open event streams when the stop begins.
    uvicorn_server.run(config)


def _run_gunicorn(impl: Implementation, host: str, port: int, workers: int) -> None:
    from gunicorn.app.wsgiapp import WSGIApplication

    class _Application(WSGIApplication):
        def __init__(self) -> None:
            self.app_uri = impl.target
            super().__init__(usage=None, prog="quartet serve")

        def load_config(self) -> None:
            self.cfg.set("bind", [f"{host}:{port}"])
            self.cfg.set("workers", workers)
            # gthread, but closing its listeners as soon as a graceful stop begins (see the module).
            self.cfg.set("worker_class", "shared.gunicorn_worker.GracefulThreadWorker")
            self.cfg.set("threads", gunicorn_threads())
            self.cfg.set("graceful_timeout", GRACEFUL_SHUTDOWN_SECONDS)
            # gunicorn refuses a request line over 4094 bytes (at most 8190) with its own HTML
            # 414; the contract answers long queries itself (10,000 parameters must get the
            # contract's 401/200). 0 lifts the setting; gunicorn still reads at most 1 MiB of line.
            self.cfg.set("limit_request_line", 0)
            self.cfg.set("loglevel", os.environ.get("LOG_LEVEL", "info").lower())
            if os.environ.get("ACCESS_LOG", "1") != "0":
                self.cfg.set("accesslog", "-")
            # ?access_token= (the event stream's credential) never reaches the log
            self.cfg.set("logger_class", "shared.logredact.RedactingGunicornLogger")

        def load_config_from_file(self, filename: str) -> None:  # no config files: CLI decides
            return None

    _Application().run()
