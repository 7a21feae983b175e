"""wrk, the load generator: the script it runs, the command line, and what it printed.

One Lua script (`lua/load.lua`) serves every scenario; the harness prepends the scenario's
data as a Lua table. The script prints one JSON line; wrk's own summary is parsed too, as a
cross-check that nothing it counted as an error slipped past the script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).parent / "lua" / "load.lua"
MARKER = "QUARTET_WRK "
INSTALL_HINT = "quartet bench needs wrk (the HTTP load generator): apt-get install wrk"


class WrkMissing(RuntimeError):
    pass


class WrkOutputError(ValueError):
    """wrk's output is not what the script prints: the run cannot be trusted."""


def executable() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(INSTALL_HINT)
    return path


def version() -> str:
    done = subprocess.run([executable(), "--version"], capture_output=True, text=True)
    return (done.stdout + done.stderr).strip().splitlines()[0]


# ------------------------------------------------------------------------------ the script


def lua_literal(value: Any) -> str:
    """A Python value (str, int, float, bool, None, list, dict with str keys) as Lua."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_lua_char(c) for c in value) + '"'
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"[{lua_literal(str(k))}] = {lua_literal(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(f"cannot write {type(value).__name__} as Lua")


def _lua_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if ord(char) < 32 or ord(char) > 126:
        return "".join(f"\\{byte:03d}" for byte in char.encode())
    return char


def write_script(path: Path, data: dict[str, Any]) -> Path:
    pool = data.get("pool", [])
    data = {
        "etags": {},
        "state_file": "",
        "pool": pool,
        **data,
        "pool_set": dict.fromkeys(pool, True),
    }
    path.write_text(f"DATA = {lua_literal(data)}\n\n{SCRIPT.read_text()}")
    return path


# ------------------------------------------------------------------------------ running


def command(
    url: str,
    script: Path,
    *,
    connections: int,
    threads: int,
    duration: float,
    timeout: float,
    cpus: list[int] | None,
) -> list[str]:
    argv = [
        executable(),
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        f"--script={script}",
        "--latency",
        url,
    ]
    if cpus:
        argv = ["taskset", "--cpu-list", ",".join(map(str, cpus)), *argv]
    return argv


# ------------------------------------------------------------------------------ parsing


@dataclass
class WrkResult:
    duration_s: float
    requests: int
    ok: int
    bad: int
    primed: int
    bad_statuses: dict[str, int]
    first_bad: str
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    bytes: int
    summary_rps: float | None = None  # wrk's own "Requests/sec" line
    problems: list[str] = field(default_factory=list)
    db_totals: tuple[int, float] | None = None  # pg_stat_statements: calls, execution ms

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "requests": self.requests,
            "ok": self.ok,
            "bad": self.bad,
            "primed": self.primed,
            "bad_statuses": self.bad_statuses,
            "first_bad": self.first_bad,
            "socket_errors": self.socket_errors,
            "latency_ms": self.latency_ms,
            "bytes": self.bytes,
            "rps": self.rps,
            "problems": self.problems,
        }


_SUMMARY_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), "
    r"timeout (\d+)"
)


def parse(output: str) -> WrkResult:
    """The script's JSON line (required) and wrk's summary; `problems` says what fails a run:
    any response that is not 2xx, any socket error or timeout, a response count that does not
    add up, or no request at all."""
    lines = [line for line in output.splitlines() if line.startswith(MARKER)]
    if len(lines) != 1:
        raise WrkOutputError(
            f"expected one {MARKER.strip()} line in wrk's output, found {len(lines)}"
        )
    try:
        raw = json.loads(lines[0][len(MARKER) :])
    except json.JSONDecodeError as exc:
        raise WrkOutputError(f"the script's JSON line is malformed: {exc}") from None
    try:
        result = WrkResult(
            duration_s=raw["duration_us"] / 1e6,
            requests=int(raw["requests"]),
            ok=int(raw["ok"]),
            bad=int(raw["bad"]),
            primed=int(raw["primed"]),
            bad_statuses={str(k): int(v) for k, v in raw["bad_statuses"].items()},
            first_bad=str(raw["first_bad"]),
            socket_errors={k: int(v) for k, v in raw["errors"].items()},
            latency_ms={k: v / 1000 for k, v in raw["latency_us"].items()},
            bytes=int(raw["bytes"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WrkOutputError(f"the script's JSON line lacks {exc}") from None
    if match := _SUMMARY_RPS.search(output):
        result.summary_rps = float(match.group(1))
    problems = result.problems
    if result.bad:
        statuses = ", ".join(f"{n}× {s}" for s, n in sorted(result.bad_statuses.items()))
        problems.append(
            f"{result.bad} responses were not 2xx ({statuses}); first: {result.first_bad[:300]}"
        )
    non_2xx = _NON_2XX.search(output)
    if non_2xx and int(non_2xx.group(1)) and not result.bad:
        problems.append(f"wrk counted {non_2xx.group(1)} non-2xx/3xx responses")
    errors = {k: v for k, v in result.socket_errors.items() if v and k != "status"}
    if match := _SOCKET_ERRORS.search(output):
        for name, text in zip(("connect", "read", "write", "timeout"), match.groups(), strict=True):
            if int(text):
                errors[name] = max(errors.get(name, 0), int(text))
    if errors:
        problems.append("socket errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    if result.requests == 0:
        problems.append("no request completed")
    elif result.ok + result.bad != result.requests:
        problems.append(
            f"wrk completed {result.requests} requests but the script saw "
            f"{result.ok + result.bad} responses"
        )
    return result


def run(argv: list[str], *, timeout: float) -> tuple[WrkResult, str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise WrkOutputError(f"wrk exited {done.returncode}: {output.strip()[:500]}")
    return parse(output), output


def read_state(path: Path) -> tuple[dict[str, str], set[str]]:
    """ETags the script learnt, and tasks whose PATCH was in flight when wrk stopped."""
    etags: dict[str, str] = {}
    pending: set[str] = set()
    if not path.exists():
        return etags, pending
    for line in path.read_text().splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "etag":
            task_id, _, tag = rest.partition(" ")
            etags[task_id] = tag
        elif kind == "pending":
            pending.add(rest.strip())
    return etags, pending
