"""A server run as a subprocess on a free port of 127.0.0.1, as its user would run it: output
captured to a log file, ready when /healthz answers 200, stopped with SIGTERM (the graceful
shutdown `quartet serve` promises) and killed with its process group only if it outlives that.
The contract suite's harness (tests/support/servers.py) and `quartet bench` (bench/servers.py)
start their servers with it; each says which command, which environment and which name."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

STARTUP_TIMEOUT_SECONDS = 60.0
# quartet serve gives in-flight requests 30 s (shared.serve.GRACEFUL_SHUTDOWN_SECONDS).
SHUTDOWN_TIMEOUT_SECONDS = 40.0

_RUNNING: set[ServedProcess] = set()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


class ServedProcess:
    """One server process; `label` names it in errors ("quartet serve flask", "floor-asgi")."""

    def __init__(
        self, label: str, env: dict[str, str], *, log_prefix: str, port: int | None = None
    ) -> None:
        self.label = label
        self.env = env
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix=f"{log_prefix}-{self.port}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self, argv: list[str], *, cwd: Path) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C is the caller's to handle
        )
        _RUNNING.add(self)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    _RUNNING.discard(self)
                    raise ServerStartError(
                        f"{self.label} exited with status {code} before answering /healthz; "
                        f"its output ends with:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    raise ServerStartError(
                        f"{self.label} did not answer /healthz within {timeout:.0f} s; "
                        f"its output ends with:\n{tail}"
                    )
                time.sleep(0.1)

    def terminate(self) -> None:
        """SIGTERM: in-flight requests finish, then the server exits."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> int | None:
        """SIGTERM and wait; SIGKILL the server's process group if it does not exit. The log
        goes with it (read log_tail() before stop() if you need it)."""
        if self.process is None:
            return None
        self.terminate()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait(10)
        _RUNNING.discard(self)
        self._log.close()
        self.log_path.unlink(missing_ok=True)
        return code


@atexit.register
def _kill_leftovers() -> None:  # a crashed session must not leave servers behind
    for server in list(_RUNNING):
        if server.process is not None and server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
