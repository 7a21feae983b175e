"""The servers under test: implementations (`quartet serve IMPL`) and floors, started fresh,
pinned to their CPU, measured through /proc (CPU time of the whole process tree, RSS per
worker) and stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.floors import FLOORS
from shared.implementations import IMPLEMENTATIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
# The same key for every server of a session: one set of tokens works everywhere.
SECRET_KEY = "quartet-bench-secret-key-not-for-production-0123456789abcdefghijkl"
STARTUP_TIMEOUT_SECONDS = 60.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Settings a developer's shell may carry that would change what the servers do.
_SCRUBBED = (
    "DATABASE_URL",
    "SECRET_KEY",
    "CORS_ORIGINS",
    "ACCESS_TOKEN_TTL_SECONDS",
    "QUARTET_ENV",
    "LOG_LEVEL",
    "ACCESS_LOG",
    "PASSWORD_HASH_PROFILE",
    "LLM_BASE_URL",
    "NOTIFY_WEBHOOK_URL",
    "GUNICORN_THREADS",
    "QUARTET_ADMIN_PASSWORD",
)


@dataclass(frozen=True, slots=True)
class Target:
    """Something to benchmark: an implementation or a floor."""

    name: str
    runtime: str  # "asgi" or "wsgi"
    is_floor: bool

    @property
    def floor(self) -> str:
        return f"floor-{self.runtime}"

    def command(self, port: int) -> list[str]:
        if self.is_floor:
            return [
                sys.executable,
                "-m",
                "bench.floors",
                self.name,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
        return [
            sys.executable,
            "-m",
            "shared.cli",
            "serve",
            self.name,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]


def _runtime(server: str) -> str:
    return "asgi" if server == "uvicorn" else "wsgi"


TARGETS: dict[str, Target] = {
    **{name: Target(name, _runtime(impl.server), False) for name, impl in IMPLEMENTATIONS.items()},
    **{name: Target(name, _runtime(floor.server), True) for name, floor in FLOORS.items()},
}


def base_env_for_tools(**extra: str) -> dict[str, str]:
    """The environment of the harness's own subprocesses, without the servers' settings."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(extra)
    return env


def server_env(database_url: str) -> dict[str, str]:
    env = base_env_for_tools()
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        ACCESS_LOG="0",
        LOG_LEVEL="warning",
        PYTHONUNBUFFERED="1",
    )
    # Production defaults otherwise: argon2 at the standard profile, 30-minute tokens (the
    # harness mints a fresh token for every load run).
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerStartError(RuntimeError):
    pass


# ---------------------------------------------------------------------------- /proc


def children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return found


def process_tree(pid: int) -> list[int]:
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue.extend(children(current))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _CLOCK_TICKS


def rss_mib(pid: int) -> float:
    try:
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return resident * _PAGE_KB / 1024


def pin(pids: list[int], cpus: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), cpus)


# ---------------------------------------------------------------------------- a server


class BenchServer:
    def __init__(self, target: Target, database_url: str, *, cpus: list[int] | None) -> None:
        self.target = target
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.cpus = cpus
        self.env = server_env(database_url)
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix=f"quartet-bench-{target.name}-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BenchServer:
        argv = self.target.command(self.port)
        if self.cpus:
            argv = ["taskset", "--cpu-list", ",".join(map(str, self.cpus)), *argv]
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_healthy()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self._log.name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        with httpx.Client(timeout=2.0) as client:
            while True:
                if (code := self.process.poll()) is not None:
                    raise ServerStartError(
                        f"{self.target.name} exited with status {code} "
                        f"before answering /healthz:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    raise ServerStartError(
                        f"{self.target.name} did not answer /healthz in "
                        f"{STARTUP_TIMEOUT_SECONDS:.0f} s:\n{tail}"
                    )
                time.sleep(0.1)

    def tree(self) -> list[int]:
        return process_tree(self.pid)

    def workers(self) -> list[int]:
        """The processes that serve requests: gunicorn's workers, or uvicorn's one process."""
        return children(self.pid) or [self.pid]

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def rss_per_worker_mib(self) -> float:
        sizes = [rss_mib(pid) for pid in self.workers()]
        return max(sizes) if sizes else 0.0

    def wait_idle(
        self, quiet_cpu: float = 0.01, interval: float = 0.2, timeout: float = 15.0
    ) -> bool:
        """Wait until the server has finished what the load generator left in flight (its CPU
        time stops growing), so nothing spills into the next measurement."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(interval)
            now = self.cpu_seconds()
            if now - before <= quiet_cpu:
                return True
            before = now
        return False

    def stop(self, timeout: float = 40.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
