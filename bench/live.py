"""The live scenarios, measured against a started server (called by bench/runner.py):

`events-fanout` — subscribers held on the server's one worker while a writer creates tasks
through the API at 50/s: the ceiling (streams held before the first refusal) with the server's
RSS at 100, 500 and 1000 held, then at each subscriber count the implementation holds the
delivery latency from the API's answer to the write to each subscriber's receipt, and the
events lost (every subscriber must receive every change).

`assistant-slow-upstream` — clients asking the assistant in a closed loop while the fake
upstream (`quartet fake-llm`, its own process) streams 20 tokens at 20 ms each: answers
completed per second against the ideal (concurrency ÷ answer time), time to first token,
refusals (503: the sync implementations' documented cap) and errors, the server's peak RSS.

The client processes (bench/liveload.py) run off the server's CPU, pinned with taskset."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.liveload import MAX_ASSISTANT_SECONDS
from bench.livestats import fanout_points, memory_per_subscriber
from bench.servers import REPO_ROOT, base_env_for_tools, cpu_seconds, process_tree
from shared.processes import ServedProcess, ServerStartError

API = "/api/v1"

# events-fanout
FANOUT_SUBSCRIBERS = (100, 500, 1000)
WRITE_RATE = 50.0  # changes per second, through the API
RAMP_LIMIT = 2000  # subscribers opened at most while looking for the ceiling
# After the writer stops, every subscriber gets this long to catch up; a wait ends earlier when
# nothing at all has arrived for DRAIN_STALL (what is missing then is lost, not late).
DRAIN_TIMEOUT = 120.0
DRAIN_STALL = 10.0
WRITE_GRACE = 30.0  # after its last send, how long the writer waits for answers
REOPEN_SECONDS = 30.0  # a sync worker frees the previous point's threads at its next write
FANOUT_TITLE = "Bench new task fanout"  # "Bench new task%" is what _cleanup_writes deletes

# assistant-slow-upstream
ASSISTANT_CONCURRENCY = (50, 200, 1000)
TOKENS = 20
TOKEN_DELAY_MS = 20
ANSWER_SECONDS = TOKENS * TOKEN_DELAY_MS / 1000  # the upstream's answer time: the ideal's basis
ASSISTANT_WARMUP = 1.0  # seconds of load before the measured window (clients ramp at once)
CLIENT_TIMEOUT = 60.0  # past LLM_TIMEOUT_SECONDS (30 s): the server's own 504 comes first


@dataclass(frozen=True, slots=True)
class LiveCpus:
    """Where the live scenarios' helper processes run: off the server's CPU; each on a CPU of
    its own when the machine has enough (on 2 CPUs they share the second with PostgreSQL)."""

    upstream: list[int] | None
    clients: list[int] | None
    writer: list[int] | None

    @classmethod
    def of(cls, others: list[int] | None) -> LiveCpus:
        if not others:
            return cls(None, None, None)
        if len(others) >= 4:  # PostgreSQL and the harness keep others[0]
            return cls([others[1]], [others[2]], [others[3]])
        if len(others) == 3:
            return cls([others[1]], [others[2]], [others[1]])
        return cls(others, others, others)

    def to_json(self) -> dict[str, Any]:
        return {"upstream": self.upstream, "clients": self.clients, "writer": self.writer}


def _pinned(argv: list[str], cpus: list[int] | None) -> list[str]:
    return ["taskset", "--cpu-list", ",".join(map(str, cpus)), *argv] if cpus else argv


def _load_argv(kind: str, config: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "bench.liveload", kind, json.dumps(config)]


class LoadFailed(RuntimeError):
    pass


# --------------------------------------------------------------------- the fake upstream


class FakeUpstream(ServedProcess):
    """`quartet fake-llm` at the scenario's pace, in its own process, pinned."""

    def __init__(self, cpus: list[int] | None) -> None:
        super().__init__("quartet fake-llm", base_env_for_tools(), log_prefix="quartet-bench-llm")
        self.cpus = cpus

    @property
    def llm_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def workers(self) -> list[int]:
        return [self.pid]  # taskset execs the program: one process

    def cpu_seconds(self) -> float:
        return cpu_seconds(process_tree(self.pid))

    def start(self) -> FakeUpstream:
        argv = [
            sys.executable,
            "-m",
            "shared.cli",
            "fake-llm",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--tokens",
            str(TOKENS),
            "--token-delay-ms",
            str(TOKEN_DELAY_MS),
        ]
        self.launch(_pinned(argv, self.cpus), cwd=REPO_ROOT)
        deadline = time.monotonic() + 30
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise ServerStartError(f"quartet fake-llm exited:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/_fake/records", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError("quartet fake-llm did not answer within 30 s")
            time.sleep(0.1)


# --------------------------------------------------------------------- events-fanout


class SubscriberProcess:
    """bench.liveload subscribe, driven over its stdin/stdout."""

    def __init__(self, config: dict[str, Any], cpus: list[int] | None) -> None:
        self.process = subprocess.Popen(
            _pinned(_load_argv("subscribe", config), cpus),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=base_env_for_tools(),
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            err = self.process.stderr.read() if self.process.stderr else ""
            raise LoadFailed(f"the subscriber process died: {err.strip()[-500:]}")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(LoadFailed, BrokenPipeError, OSError):
                self.ask({"cmd": "exit"})
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_writer(
    database_url: str, project_id: str, actor_id: str, seconds: float, cpus: list[int] | None
) -> dict[str, Any]:
    config = {
        "database_url": database_url,
        "project_id": project_id,
        "actor_id": actor_id,
        "rate": WRITE_RATE,
        "seconds": seconds,
        "title_prefix": FANOUT_TITLE,
        "grace": WRITE_GRACE,
    }
    done = subprocess.run(
        _pinned(_load_argv("writer", config), cpus),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=base_env_for_tools(),
        timeout=seconds + WRITE_GRACE + 60,
    )
    if done.returncode != 0:
        raise LoadFailed(f"the writer failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def nudge(base_url: str, path: str, token: str) -> None:
    """Two writes, so a sync worker's stream threads write twice, notice that their clients
    have gone and free their slots (the first write to a socket the peer has closed usually
    succeeds: the kernel buffers it; the reset it provokes fails the second)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(2):
            client.post(
                path,
                json={"title": f"{FANOUT_TITLE} nudge"},
                headers={"Authorization": f"Bearer {token}"},
            )
            time.sleep(0.3)


def measure_fanout(
    *,
    server: Any,
    project_id: str,
    token: str,
    duration: float,
    cpus: LiveCpus,
    after_point: Any,
    note: Any,
    database_url: str,
    actor_id: str,
) -> dict[str, Any]:
    """The ceiling and memory (ramp), then each subscriber count's delivery figures: the
    writer commits straight to PostgreSQL, so the worker's CPU is the fan-out's alone."""
    events_path = f"{API}/projects/{project_id}/events"
    tasks_path = f"{API}/projects/{project_id}/tasks"
    config = {
        "url": server.base_url,
        "path": events_path,
        "token": token,
        "pids": server.workers(),
    }
    record: dict[str, Any] = {"write_rate": WRITE_RATE, "points": []}
    clients = SubscriberProcess(config, cpus.clients)
    try:
        ramp = clients.ask({"cmd": "ramp", "limit": RAMP_LIMIT, "checkpoints": FANOUT_SUBSCRIBERS})
        samples = [(count, rss) for count, rss in ramp["rss_mib"]]
        ramp["kib_per_subscriber"] = memory_per_subscriber(ramp["rss_baseline_mib"], samples)
        record["ramp"] = ramp
        clients.ask({"cmd": "close"})
        note(
            f"held {ramp['held']} streams"
            + (
                f", refused the next ({ramp['refusal']['status']}, Retry-After "
                f"{ramp['refusal']['retry_after']})"
                if ramp["ceiling"] is not None
                else f" (no refusal up to {ramp['limit']}; {ramp['failed']} failed)"
            )
        )
        nudge(server.base_url, tasks_path, token)
        after_point()
        ceiling = ramp["ceiling"] if ramp["ceiling"] is not None else ramp["held"]
        for count in fanout_points(FANOUT_SUBSCRIBERS, ceiling):
            point: dict[str, Any] = {"subscribers": count}
            record["points"].append(point)
            opened = clients.ask({"cmd": "open", "count": count, "retry_seconds": REOPEN_SECONDS})
            point["open"] = opened
            if opened["held"] < count:
                point["failed"] = f"held {opened['held']} of {count} streams"
                clients.ask({"cmd": "close"})
                nudge(server.base_url, tasks_path, token)
                after_point()
                continue
            cpu_before = server.cpu_seconds()
            written = run_writer(database_url, project_id, actor_id, duration, cpus.writer)
            point["writer"] = {k: v for k, v in written.items() if k != "writes"}
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                json.dump(written["writes"], handle)
            try:
                delivery = clients.ask(
                    {
                        "cmd": "drain",
                        "writes_file": handle.name,
                        "timeout": DRAIN_TIMEOUT,
                        "stall": DRAIN_STALL,
                    }
                )
            finally:
                Path(handle.name).unlink(missing_ok=True)
            cpu_used = server.cpu_seconds() - cpu_before
            point.update(delivery)
            seconds = written["seconds"] + delivery["drain_s"]
            point["server_cpu_utilisation"] = round(cpu_used / seconds, 3) if seconds else None
            if delivery["deliveries"]:
                point["server_cpu_us_per_delivery"] = round(
                    cpu_used * 1e6 / delivery["deliveries"], 1
                )
            clients.ask({"cmd": "close"})
            nudge(server.base_url, tasks_path, token)
            after_point()
            note(
                f"{count} subscribers: p50 {delivery['latency_ms']['p50']} ms, "
                f"p99 {delivery['latency_ms']['p99']} ms, lost {delivery['lost']}"
            )
    finally:
        clients.close()
    problems = [p["failed"] for p in record["points"] if p.get("failed")]
    problems += [
        f"{p['subscribers']} subscribers: {p['lost']} deliveries "
        + ("lost" if p["drain_end"] == "stalled" else f"not there after {p['drain_s']:g} s")
        for p in record["points"]
        if p.get("lost")
    ]
    if not record["points"]:
        problems.append("no subscriber was held")
    record["problems"] = problems
    return record


# --------------------------------------------------------------- assistant-slow-upstream


def measure_upstream(
    *, upstream: FakeUpstream, duration: float, cpus: LiveCpus, note: Any
) -> dict[str, Any]:
    """The same clients straight against the fake upstream (no relay, no server): what the
    upstream process itself delivers on this machine — the relays cannot do better, and on a
    machine whose upstream shares a CPU with the clients and PostgreSQL it may be far from the
    ideal."""
    return measure_assistant(
        server=upstream,
        project_id="",
        token="",
        duration=duration,
        cpus=cpus,
        after_point=lambda: time.sleep(0.5),
        note=note,
        path="/v1/chat/completions",
    )


def measure_assistant(
    *,
    server: Any,
    project_id: str,
    token: str,
    duration: float,
    cpus: LiveCpus,
    after_point: Any,
    note: Any,
    path: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "tokens": TOKENS,
        "token_delay_ms": TOKEN_DELAY_MS,
        "answer_s": ANSWER_SECONDS,
        "points": [],
    }
    for concurrency in ASSISTANT_CONCURRENCY:
        config = {
            "url": server.base_url,
            "path": path or f"{API}/projects/{project_id}/assistant",
            "openai": path is not None,
            "token": token,
            "concurrency": concurrency,
            "warmup": ASSISTANT_WARMUP,
            "seconds": duration,
            "timeout": CLIENT_TIMEOUT,
            "answer_seconds": ANSWER_SECONDS,
            "pids": server.workers(),
        }
        cpu_before = server.cpu_seconds()
        done = subprocess.run(
            _pinned(_load_argv("assistant", config), cpus.clients),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            env=base_env_for_tools(),
            timeout=MAX_ASSISTANT_SECONDS + CLIENT_TIMEOUT + 60,
        )
        cpu_used = server.cpu_seconds() - cpu_before
        if done.returncode != 0:
            record["points"].append(
                {"concurrency": concurrency, "failed": done.stderr.strip()[-300:]}
            )
            after_point()
            continue
        point = json.loads(done.stdout)
        elapsed = point.pop("elapsed_s", None) or (ASSISTANT_WARMUP + duration)
        point["server_cpu_utilisation"] = round(cpu_used / elapsed, 3)
        record["points"].append(point)
        note(
            f"{concurrency} clients: {point['answers_per_s']} answers/s "
            f"(ideal {point['ideal_per_s']}), TTFT p50 {point['ttft_ms']['p50']} ms, "
            f"503 {point['refused_503']}, errors {point['error_count']}"
        )
        after_point()
    problems = [
        f"{p['concurrency']} clients: {p['failed']}" for p in record["points"] if "failed" in p
    ]
    problems += [
        f"{p['concurrency']} clients: no answer completed"
        for p in record["points"]
        if "failed" not in p and not p["answers"]
    ]
    record["problems"] = problems
    return record


def settings(cpus: LiveCpus) -> dict[str, Any]:
    """The live scenarios' parameters, for results.json."""
    return {
        "fanout_subscribers": list(FANOUT_SUBSCRIBERS),
        "write_rate_per_s": WRITE_RATE,
        "write": (
            "a task and its task.created activity entry committed straight to PostgreSQL "
            "(createTask's rows, less the API), open loop"
        ),
        "ramp_limit": RAMP_LIMIT,
        "drain_timeout_s": DRAIN_TIMEOUT,
        "drain_stall_s": DRAIN_STALL,
        "assistant_concurrency": list(ASSISTANT_CONCURRENCY),
        "upstream": f"quartet fake-llm --tokens {TOKENS} --token-delay-ms {TOKEN_DELAY_MS}",
        "answer_s": ANSWER_SECONDS,
        "assistant_warmup_s": ASSISTANT_WARMUP,
        "client_timeout_s": CLIENT_TIMEOUT,
        "cpus": cpus.to_json(),
    }
