"""`quartet bench --profile IMPL`: where one worker spends its time in a scenario.

py-spy samples the worker under the scenario's load twice: once into collapsed stacks, from
which a breakdown by layer is computed (innermost frame that belongs to a known layer wins),
and once into a flame graph (SVG) written next to the report. Sampling pauses the process, so
profiled runs are never mixed with measured ones."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

# (layer, path fragments) — checked in this order on each frame, innermost frame first.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("password hashing", ("/argon2/",)),
    ("database driver", ("/asyncpg/", "/psycopg/", "/psycopg_pool/", "/psycopg_binary/")),
    ("ORM", ("/sqlalchemy/", "/django/db/")),
    (
        "validation & serialization",
        (
            "/pydantic/",
            "/pydantic_core/",
            "/msgspec/",
            "/marshmallow/",
            "/webargs/",
            "/apispec/",
            "/rest_framework/serializers",
            "/rest_framework/fields",
            "/rest_framework/renderers",
            "/rest_framework/parsers",
            "/orjson",
            "/json/",
        ),
    ),
    (
        "framework (routing, middleware, DI)",
        (
            "/fastapi/",
            "/starlette/",
            "/litestar/",
            "/flask/",
            "/flask_smorest/",
            "/werkzeug/",
            "/django/",
            "/rest_framework/",
            "/anyio/",
        ),
    ),
    (
        "server & event loop",
        (
            "/uvicorn/",
            "/gunicorn/",
            "/h11/",
            "/httptools/",
            "/uvloop/",
            "/asyncio/",
            "/selectors.py",
            "/socket.py",
            "/threading.py",
            "/concurrent/",
        ),
    ),
    ("tokens", ("/jwt/",)),
    ("application code", ("/impl_", "/shared/", "/bench/floors/")),
]
_FRAME = re.compile(r"\((?P<path>[^()]*?):\d+\)$")


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).exists():
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    return path


def layer_of(stack: list[str]) -> str:
    for frame in reversed(stack):
        match = _FRAME.search(frame)
        path = "/" + match.group("path") if match else frame
        for layer, fragments in LAYERS:
            if any(fragment in path for fragment in fragments):
                return layer
    return "other (standard library, C extensions)"


def breakdown(collapsed: str) -> dict[str, float]:
    """Share of samples per layer, from py-spy's raw (collapsed stack) output."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack_text, _, number = line.rpartition(" ")
        if not stack_text or not number.isdigit():
            continue
        counts[layer_of(stack_text.split(";"))] += int(number)
    total = sum(counts.values())
    return {layer: count / total for layer, count in counts.most_common()} if total else {}


def record(
    pids: list[int], seconds: int, output: Path, fmt: str, cpus: list[int] | None
) -> subprocess.CompletedProcess[str]:
    """py-spy on every worker (gunicorn's workers are separate processes)."""
    argv = [
        py_spy(),
        "record",
        "--pid",
        str(pids[0]),
        "--duration",
        str(seconds),
        "--rate",
        "200",
        "--gil",  # only the thread holding the GIL: CPU spent in Python, not waits
        # Without pausing the process: paused for each sample, a gunicorn gthread worker's main
        # loop is taken for the GIL holder in about half the samples, whatever the request
        # costs (Flask and the WSGI floor alike, 2026-12-03); not paused, it is 3-16%.
        "--nonblocking",
        "--format",
        fmt,
        "--output",
        str(output),
    ]
    if len(pids) > 1:
        argv.append("--subprocesses")
    if cpus:
        argv = ["taskset", "--cpu-list", ",".join(map(str, cpus)), *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)


def profile_under_load(
    server: Any, load: Any, seconds: int, out: Path, stem: str, cpus: list[int] | None
) -> dict[str, Any]:
    """Run `load(duration)` (wrk) in the background and sample the server twice meanwhile."""
    pids = server.workers()
    target = [server.pid] if len(pids) > 1 else pids
    outcome: dict[str, Any] = {}
    loader = threading.Thread(target=lambda: outcome.setdefault("load", load(2 * seconds + 3)))
    loader.start()
    try:
        raw = out / f".{stem}.collapsed"
        done = record(target, seconds, raw, "raw", cpus)
        if done.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed: {done.stderr.strip()[-500:]}")
        outcome["breakdown"] = breakdown(raw.read_text())
        raw.unlink()
        svg = out / f"{stem}.svg"
        done = record(target, seconds, svg, "flamegraph", cpus)
        if done.returncode != 0:
            raise RuntimeError(f"py-spy failed: {done.stderr.strip()[-500:]}")
        outcome["flamegraph"] = svg.name
    finally:
        loader.join()
    return outcome


def render(profiles: list[dict[str, Any]]) -> str:
    lines = [
        "# Where the time goes",
        "",
        "py-spy samples of one worker under load (the thread holding the GIL: Python at work, "
        "not waiting), by layer: each sample is credited to "
        "the innermost frame that belongs to a known layer (a `uuid` call made by the ORM "
        "counts as ORM). Time the worker spends waiting — for PostgreSQL, for the next "
        "request — is not sampled; see the report's DB ms/req for the database's share.",
        "",
    ]
    lines += summary_tables(profiles)
    for entry in profiles:
        lines += [f"## {entry['target']} · `{entry['scenario']}`", ""]
        if entry.get("error"):
            lines += [f"Not profiled: {entry['error']}", ""]
            continue
        lines += ["| layer | share of samples |", "|---|---:|"]
        lines += [f"| {layer} | {share:.0%} |" for layer, share in entry["breakdown"].items()]
        rps = entry.get("rps")
        lines += [
            "",
            f"Flame graph: [{entry['flamegraph']}]({entry['flamegraph']})"
            + (f" · {rps:.0f} req/s while sampled (sampling slows the worker)" if rps else ""),
            "",
        ]
    return "\n".join(lines)


def summary_tables(profiles: list[dict[str, Any]]) -> list[str]:
    """One table per scenario: layers down, implementations across, so the four compare at a
    glance (the sections below have each profile's own table and flame graph)."""
    lines: list[str] = []
    scenarios = list(dict.fromkeys(entry["scenario"] for entry in profiles))
    for scenario in scenarios:
        entries = [e for e in profiles if e["scenario"] == scenario and not e.get("error")]
        if not entries:
            continue
        layers = list(dict.fromkeys(layer for entry in entries for layer in entry["breakdown"]))
        header = ["layer", *(entry["target"] for entry in entries)]
        lines += [f"**`{scenario}`**, share of samples by layer:", ""]
        lines += ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(entries) + "|"]
        for layer in layers:
            shares = [entry["breakdown"].get(layer, 0.0) for entry in entries]
            lines.append(f"| {layer} | " + " | ".join(f"{share:.0%}" for share in shares) + " |")
        lines.append("")
    return lines
