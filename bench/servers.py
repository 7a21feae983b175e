"""The servers under test: implementations (`quartet serve IMPL`) and floors, started fresh,
pinned to their CPU, measured through /proc (CPU time of the whole process tree, RSS per
worker) and stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.floors import FLOORS
from shared.implementations import IMPLEMENTATIONS
from shared.processes import ServedProcess
from shared.settings import SETTING_NAMES

REPO_ROOT = Path(__file__).resolve().parents[1]
# The same key for every server of a session: one set of tokens works everywhere.
SECRET_KEY = "quartet-bench-secret-key-not-for-production-0123456789abcdefghijkl"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Settings a developer's shell may carry that would change what the servers do.
_SCRUBBED = (*SETTING_NAMES, "QUARTET_ADMIN_PASSWORD")


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


class BenchServer(ServedProcess):
    """One target's server, started fresh, pinned to `cpus` (taskset) when given."""

    def __init__(
        self,
        target: Target,
        database_url: str,
        *,
        cpus: list[int] | None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            target.name,
            {**server_env(database_url), **(env or {})},
            log_prefix=f"quartet-bench-{target.name}",
        )
        self.target = target
        self.cpus = cpus

    def start(self) -> BenchServer:
        argv = self.target.command(self.port)
        if self.cpus:
            argv = ["taskset", "--cpu-list", ",".join(map(str, self.cpus)), *argv]
        self.launch(argv, cwd=REPO_ROOT)
        self.wait_healthy()
        return self

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

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
