"""What a results file records besides the figures: the machine, the software, the settings."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import wrk
from bench.floors import asgi as floor_asgi
from bench.floors import wsgi as floor_wsgi
from bench.scenarios import (
    CONNECTIONS,
    LOGIN_CONNECTIONS,
    LOGIN_MIN_SECONDS,
    MAX_RETRY_SECONDS,
    kind_weights,
)
from bench.servers import REPO_ROOT

PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "litestar",
    "msgspec",
    "flask",
    "flask-smorest",
    "marshmallow",
    "django",
    "djangorestframework",
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "psycopg-pool",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "orjson",
    "argon2-cffi",
    "pyjwt",
    "pgserver",
)


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_start": list(os.getloadavg()),
    }


def packages() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git() -> dict[str, Any]:
    def run(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    status = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": run("rev-parse", "HEAD") or "unknown",
        "branch": run("branch", "--show-current"),
        "dirty": bool(status),
    }


def describe(options: Any, layout: Any, targets: list[Any]) -> dict[str, Any]:
    return {
        "schema": 1,
        "command": options.command,
        "git": git(),
        "machine": machine(),
        "packages": packages(),
        "load_generator": wrk.version(),
        "settings": {
            "runs": options.runs,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "seed": options.seed,
            "workers": 1,
            "gunicorn_threads": options.gunicorn_threads,  # the environment's is scrubbed
            "connections": CONNECTIONS,
            "login_connections": LOGIN_CONNECTIONS,
            "login_min_s": LOGIN_MIN_SECONDS,
            "short_window_rule": "a window that completes fewer than 30 requests (6 for login) "
            f"is measured again, longer (at most {MAX_RETRY_SECONDS} s)",
            "warm_up": "the mixed scenario's requests (every kind but login), once per start",
            "wrk_threads": 2,
            "cpu_pinning": layout.to_json(),
            "floor_pool_sizes": {
                "floor-asgi": floor_asgi.POOL_SIZE,
                "floor-wsgi": floor_wsgi.POOL_SIZE,
            },
            "access_log": "off",
            "targets": [t.name for t in targets],
        },
        "scenarios": {
            point.name: {
                "title": point.title,
                "connections": point.connections,
                "writes": point.writes,
                "project": point.list_project,
                "group": point.group or point.name,
                "kind": point.kind,
                "mix": kind_weights(point),
            }
            for point in options.points
        },
    }
