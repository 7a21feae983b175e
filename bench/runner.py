"""A bench session: one fresh database and data set, then `runs` rounds in which every server
(the implementations and the floors, in a seeded random order) is started fresh, verified on its
first start, measured on every scenario and stopped."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import dataset as data_set
from bench import environment, live, sqlcount, verify, wrk
from bench.database import BenchDatabase
from bench.scenarios import API, COMMENT_BODY, WARM_UP, Scenario, lua_data
from bench.servers import SECRET_KEY, TARGETS, BenchServer, Target
from shared.processes import ServerStartError
from shared.settings import DEFAULT_GUNICORN_THREADS, load_settings
from shared.tokens import issue_token

WRK_THREADS = 2
ADMIN_EMAIL = "bench-admin@example.com"


@dataclass
class Options:
    impls: list[str]
    points: list[Scenario]
    runs: int
    duration: float
    warmup: float
    out: Path
    seed: int
    floors: bool = True
    gunicorn_threads: int = DEFAULT_GUNICORN_THREADS
    spec: data_set.DatasetSpec = field(default_factory=data_set.DatasetSpec)
    command: str = "quartet bench"


class Reporter:
    """What the session tells the person watching (the rich display implements it)."""

    def phase(self, text: str) -> None: ...
    def step(self, text: str) -> None: ...
    def advance(self) -> None: ...
    def note(self, text: str) -> None: ...
    def alarm(self, text: str) -> None: ...


@dataclass
class Layout:
    """Which CPUs the server gets and which the database, wrk and the harness share."""

    server: list[int] | None
    others: list[int] | None

    @classmethod
    def detect(cls) -> Layout:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2 or not _has_taskset():
            return cls(None, None)
        return cls([cpus[0]], cpus[1:])

    def to_json(self) -> dict[str, Any] | None:
        if self.server is None:
            return None
        return {"server": self.server, "database_wrk_and_harness": self.others}


def _has_taskset() -> bool:
    with contextlib.suppress(OSError):
        return subprocess.run(["taskset", "--version"], capture_output=True).returncode == 0
    return False


def mint_token(user_id: str) -> str:
    """A token the servers accept: they all run with the session's SECRET_KEY."""
    settings = dataclasses.replace(
        load_settings(), secret_key=SECRET_KEY, access_token_ttl_seconds=1800
    )
    return issue_token(uuid.UUID(user_id), settings)


class EtagStore:
    """The patch pool's current ETags, carried from run to run (an ETag is interchangeable
    between implementations, so one learnt from any server is valid on the next)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.etags: dict[str, str] = {}

    def ensure(self, base_url: str, pool: list[str], token: str) -> int:
        """Learn the ETags not known yet, through GETs outside any measured window."""
        missing = [task_id for task_id in pool if task_id not in self.etags]
        self.refresh(base_url, missing, token)
        return len(missing)

    def refresh(self, base_url: str, task_ids: list[str] | set[str], token: str) -> None:
        if not task_ids:
            return
        with httpx.Client(
            base_url=base_url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for task_id in task_ids:
                response = client.get(f"{API}/tasks/{task_id}")
                response.raise_for_status()
                self.etags[task_id] = response.headers["etag"]

    def absorb(self, base_url: str, token: str) -> None:
        """Take what the script learnt; re-read the tasks whose PATCH was cut off by the end of
        the run (the server may have applied it after wrk stopped listening)."""
        learnt, pending = wrk.read_state(self.path)
        self.etags.update(learnt)
        for task_id in pending:
            self.etags.pop(task_id, None)
        self.refresh(base_url, pending, token)
        self.path.unlink(missing_ok=True)

    def forget(self) -> None:
        self.etags.clear()
        self.path.unlink(missing_ok=True)


@dataclass
class Session:
    options: Options
    reporter: Reporter
    layout: Layout = field(default_factory=Layout.detect)
    results: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    upstream: live.FakeUpstream | None = None  # the assistant scenario's, for the session
    live_cpus: live.LiveCpus = field(default_factory=lambda: live.LiveCpus(None, None, None))

    # ------------------------------------------------------------------------------ setup

    def steps(self) -> int:
        """Measurement points of a session, for the progress bar."""
        per_run = sum(
            1 for t in self.targets() for p in self.options.points if not (p.live and t.is_floor)
        )
        return per_run * self.options.runs

    def targets(self) -> list[Target]:
        names = list(self.options.impls)
        if self.options.floors and any(not point.live for point in self.options.points):
            runtimes = {TARGETS[name].runtime for name in names}
            names += [f"floor-{runtime}" for runtime in ("asgi", "wsgi") if runtime in runtimes]
        return [TARGETS[name] for name in names]

    def run(self) -> dict[str, Any]:
        """The benchmark: every run, then the statement counts; the results document."""
        started = time.time()

        def work() -> dict[str, Any]:
            self._measure_runs()
            self._count_statements()
            self.results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self.results["wall_seconds"] = round(time.time() - started, 1)
            self.results["machine"]["load_average_end"] = list(os.getloadavg())
            return self.results

        return self._session(started, work)

    def profile(self, impls: list[str]) -> list[dict[str, Any]]:
        """py-spy profiles of `impls` on the chosen scenarios (nothing is measured)."""
        return self._session(time.time(), lambda: self._profile(impls))

    def _session(self, started: float, work: Any) -> Any:
        opts = self.options
        opts.out.mkdir(parents=True, exist_ok=True)
        if self.layout.others:
            os.sched_setaffinity(0, self.layout.others)  # the harness keeps off the server's CPU
        self.live_cpus = live.LiveCpus.of(self.layout.others)
        self.results = environment.describe(opts, self.layout, self.targets())
        if any(point.live for point in opts.points):
            self.results["settings"]["live"] = live.settings(self.live_cpus)
        self.results["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started))
        self.reporter.phase("PostgreSQL and the data set")
        database = BenchDatabase.create()
        # scripts and ETag state live outside --out, so nothing but results lands there
        self.work_dir = Path(tempfile.mkdtemp(prefix="quartet-bench-"))
        self.etags = EtagStore(self.work_dir / "etags.state")
        self.upstream = None
        try:
            self._prepare(database)
            if any(point.kind == "assistant" for point in opts.points):
                self.reporter.step("the fake LLM upstream")
                self.upstream = live.FakeUpstream(self.live_cpus.upstream).start()
            return work()
        finally:
            if self.upstream is not None:
                self.upstream.stop()
            self.etags.forget()
            shutil.rmtree(self.work_dir, ignore_errors=True)
            database.drop()

    def _prepare(self, database: BenchDatabase) -> None:
        opts = self.options
        if self.layout.others:
            database.pin(self.layout.others)
        self.reporter.step(f"loading {opts.spec.total_tasks:,} tasks")
        load_started = time.monotonic()
        dataset = data_set.load(database.url, opts.spec)
        load_seconds = time.monotonic() - load_started
        database.read_settings()
        self._create_admin(database.url)
        with psycopg.connect(database.url) as conn:
            self.activity_mark = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM activity"
            ).fetchone()[0]
        self.results["database"] = {
            "embedded": database.embedded,
            "server_version": database.server_version,
            "pg_stat_statements": database.pg_stat_statements,
            "pg_stat_statements_unavailable_because": database.pg_stat_statements_reason,
            "pinned_cpus": database.pinned_cpus,
            "settings": database.settings,
        }
        self.results["dataset"] = {
            **dataset.summary(),
            "load_seconds": round(load_seconds, 1),
            "password_hash": "argon2id, RFC 9106 low-memory profile "
            "(64 MiB, t=3, p=4): the production profile",
        }
        self.reporter.note(
            f"data set loaded in {load_seconds:.0f} s "
            f"({'embedded' if database.embedded else 'DATABASE_URL'} "
            f"PostgreSQL {database.server_version})"
        )
        self.database, self.dataset = database, dataset

    def _profile(self, impls: list[str]) -> list[dict[str, Any]]:
        from bench import profile

        profiles = []
        seconds = max(2, round(self.options.duration))
        for name in impls:
            target = TARGETS[name]
            for point in self.options.points:
                entry: dict[str, Any] = {"target": name, "scenario": point.name}
                profiles.append(entry)
                self.reporter.step(f"{name} · {point.name}: profiling {seconds} s")
                try:
                    with BenchServer(target, self.database.url, cpus=self.layout.server) as server:
                        load = self._loader(server, point, mint_token(self.dataset.owner_id))
                        load(self.options.warmup)
                        outcome = profile.profile_under_load(
                            server,
                            load,
                            seconds,
                            self.options.out,
                            f"profile-{name}-{point.name}",
                            self.layout.others,
                        )
                    entry.update(breakdown=outcome["breakdown"], flamegraph=outcome["flamegraph"])
                    if "load" in outcome:
                        entry["rps"] = outcome["load"].rps
                except (
                    RuntimeError,
                    ServerStartError,
                    wrk.WrkOutputError,
                    subprocess.TimeoutExpired,
                ) as exc:
                    entry["error"] = str(exc).splitlines()[0][:300]
                    self.reporter.alarm(f"{name} · {point.name}: {entry['error']}")
                finally:
                    if point.writes:
                        self._cleanup_writes()
                    self.reporter.advance()
        return profiles

    def _create_admin(self, database_url: str) -> None:
        from bench.servers import REPO_ROOT, base_env_for_tools

        self.admin_password = f"bench-admin-{uuid.uuid4().hex}"
        env = base_env_for_tools(
            DATABASE_URL=database_url, QUARTET_ADMIN_PASSWORD=self.admin_password
        )
        done = subprocess.run(
            [
                *_python(),
                "-m",
                "shared.cli",
                "create-admin",
                "--email",
                ADMIN_EMAIL,
                "--display-name",
                "Bench Admin",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"quartet create-admin failed: {done.stderr.strip()}")

    # ------------------------------------------------------------------------------ runs

    def _measure_runs(self) -> None:
        opts = self.options
        targets = self.targets()
        self.verified: dict[str, bool] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.results["targets"] = {
            t.name: {
                "runtime": t.runtime,
                "is_floor": t.is_floor,
                "floor": None if t.is_floor else t.floor,
            }
            for t in targets
        }
        rng = random.Random(opts.seed)
        runs: list[dict[str, Any]] = []
        self.results["runs"] = runs
        for index in range(1, opts.runs + 1):
            order = list(targets)
            rng.shuffle(order)
            run: dict[str, Any] = {"index": index, "order": [t.name for t in order], "results": []}
            runs.append(run)
            self.reporter.phase(f"run {index} of {opts.runs}: " + ", ".join(run["order"]))
            if self.upstream is not None:
                run["results"] += self._measure_upstream()
            for target in order:
                if self.verified.get(target.name) is False:
                    self._skip(target, "not verified")
                    continue
                self._serve_and_measure(target, index, run["results"])
            if index == 1:
                self._check_equal_json()

    def _skip(self, target: Target, reason: str) -> None:
        for point in self.options.points:
            if not (point.live and target.is_floor):
                self.reporter.advance()

    def _serve_and_measure(
        self, target: Target, run_index: int, records: list[dict[str, Any]]
    ) -> None:
        self.reporter.step(f"{target.name}: starting")
        try:
            server = BenchServer(
                target, self.database.url, cpus=self.layout.server, env=self._server_env()
            ).start()
        except ServerStartError as exc:
            self._fail(target.name, "start", str(exc))
            if run_index == 1:
                self.verified[target.name] = False
            self._skip(target, "did not start")
            return
        try:
            if run_index == 1 and not self._verify(target, server):
                self._skip(target, "not verified")
                return
            self._warm_up(target, server)
            for point in self.options.points:
                if point.live and target.is_floor:
                    continue  # the floors serve the wrk scenarios' requests only
                measure = self._measure_live if point.live else self._measure
                records.append(measure(target, server, point))
                self.reporter.advance()
                if server.process is not None and server.process.poll() is not None:
                    self._fail(target.name, point.name, "the server exited:\n" + server.log_tail())
                    break
        finally:
            server.stop()

    def _server_env(self) -> dict[str, str]:
        """What the servers need besides their defaults: the gunicorn threads (--gunicorn-threads),
        the fake upstream's URL when the assistant scenario runs."""
        env = {"GUNICORN_THREADS": str(self.options.gunicorn_threads)}
        if self.upstream is not None:
            env["LLM_BASE_URL"] = self.upstream.llm_base_url
        return env

    def _verify(self, target: Target, server: BenchServer) -> bool:
        entry = self.results["targets"][target.name]
        if not target.is_floor:
            self.reporter.step(f"{target.name}: contract smoke tests")
            outcome = verify.run_smoke(
                server.base_url, ADMIN_EMAIL, self.admin_password, self.layout.others
            )
            entry["smoke"] = outcome.to_json()
            if not outcome.passed:
                self.verified[target.name] = False
                entry["verified"] = False
                self._fail(
                    target.name,
                    "verification",
                    f"NOT VERIFIED, not measured: smoke tests {outcome.summary}\n"
                    f"{outcome.output_tail}",
                )
                return False
            self.reporter.note(
                f"{target.name}: smoke tests {outcome.summary} ({outcome.seconds:.0f} s)"
            )
        self.verified[target.name] = True
        entry["verified"] = True
        slot = list(TARGETS).index(target.name)
        self.captures[target.name] = verify.capture(
            server.base_url, self.dataset, mint_token(self.dataset.owner_id), slot
        )
        self._cleanup_writes()
        return True

    def _check_equal_json(self) -> None:
        impls = [name for name in self.options.impls if self.verified.get(name)]
        outcomes = verify.check_all(self.captures, impls)
        for name, outcome in outcomes.items():
            entry = self.results["targets"][name]
            entry["equal_json"] = outcome.to_json()
            if TARGETS[name].is_floor:
                entry["verified"] = outcome.verified or not impls
                if not entry["verified"]:
                    self._fail(
                        name,
                        "verification",
                        "the floor's JSON differs from every "
                        "implementation's: its figures are not a floor\n"
                        + "\n".join(f"{k}: {v[0]}" for k, v in outcome.differs_from.items()),
                    )
            for other, diffs in outcome.differs_from.items():
                if not TARGETS[name].is_floor and TARGETS[other].is_floor:
                    continue
                self.reporter.alarm(f"{name} answers differently from {other}: {diffs[0]}")

    # ------------------------------------------------------------------------- measuring

    def _loader(self, server: BenchServer, point: Scenario, token: str) -> Any:
        """`load(seconds)`: one wrk run of the scenario against the server (ETags carried)."""
        script = self.work_dir / f"{server.target.name}-{point.name}.lua"
        threads = min(WRK_THREADS, point.connections)
        uses_pool = "patch" in point.pattern

        def load(seconds: float, measured: bool = False) -> wrk.WrkResult:
            wrk.write_script(
                script,
                lua_data(
                    self.dataset,
                    point,
                    token=token,
                    threads=threads,
                    etags=self.etags.etags,
                    state_file=str(self.etags.path),
                ),
            )
            argv = wrk.command(
                server.base_url + "/",
                script,
                connections=point.connections,
                threads=threads,
                duration=seconds,
                timeout=60,
                cpus=self.layout.others,
            )
            if measured and self.database.pg_stat_statements:
                self.database.statements_reset()
            try:
                result, _ = wrk.run(argv, timeout=seconds + 120)
            finally:
                script.unlink(missing_ok=True)
            server.wait_idle()  # requests cut off by the end of the run finish first
            if measured and self.database.pg_stat_statements:
                # before anything else touches the database (the ETag refresh, our own look-ups)
                result.db_totals = self.database.statements_totals()
            if uses_pool:
                self.etags.absorb(server.base_url, token)
            return result

        if uses_pool:
            primed = self.etags.ensure(server.base_url, self.dataset.patch_pool(), token)
            if primed:
                self.reporter.note(
                    f"learnt {primed} ETags from {server.target.name} "
                    "(GETs outside the measured runs)"
                )
        return load

    def _warm_up(self, target: Target, server: BenchServer) -> None:
        self.reporter.step(f"{target.name}: warm-up")
        try:
            load = self._loader(server, WARM_UP, mint_token(self.dataset.owner_id))
            warm = load(self.options.warmup)
            if warm.failed:
                self._fail(target.name, "warm-up", "; ".join(warm.problems))
                self.etags.forget()
        except (wrk.WrkOutputError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
            self._fail(target.name, "warm-up", f"{type(exc).__name__}: {exc}")
        finally:
            self._cleanup_writes()

    def _measure(self, target: Target, server: BenchServer, point: Scenario) -> dict[str, Any]:
        opts = self.options
        record: dict[str, Any] = {"target": target.name, "scenario": point.name}
        try:
            load = self._loader(server, point, mint_token(self.dataset.owner_id))
            seconds = point.seconds(opts.duration)
            self.reporter.step(f"{target.name} · {point.name}: measuring {seconds:g} s")
            cpu_before = server.cpu_seconds()
            result = load(seconds, measured=True)
            cpu_used = server.cpu_seconds() - cpu_before
            longer = point.retry_seconds(seconds, result.requests)
            if longer is not None and not (set(result.problems) - {"no request completed"}):
                record["short_window"] = {"seconds": seconds, "requests": result.requests}
                self.reporter.note(
                    f"{target.name} · {point.name}: {result.requests} requests "
                    f"in {seconds:g} s; measuring again for {longer:g} s"
                )
                cpu_before = server.cpu_seconds()
                result = load(longer, measured=True)
                cpu_used = server.cpu_seconds() - cpu_before
            record.update(result.to_json())
            record["cpu_ms_per_request"] = (
                cpu_used * 1000 / result.requests if result.requests else None
            )
            record["cpu_utilisation"] = cpu_used / result.duration_s if result.duration_s else None
            record["rss_mib_per_worker"] = round(server.rss_per_worker_mib(), 1)
            record["db_connections"] = self.database.connections()
            if result.db_totals is not None and result.requests:
                calls, exec_ms = result.db_totals
                record["statements_per_request"] = calls / result.requests
                record["db_ms_per_request"] = exec_ms / result.requests
            if result.primed:
                self.reporter.alarm(
                    f"{target.name} · {point.name}: {result.primed} requests "
                    "had to learn an ETag inside the measured run"
                )
            if result.failed:
                return self._failed(record, target, point, "; ".join(result.problems))
            record["failed"] = False
            return record
        except (wrk.WrkOutputError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
            return self._failed(record, target, point, f"{type(exc).__name__}: {exc}")
        finally:
            if point.writes:
                self._cleanup_writes()

    def _measure_upstream(self) -> list[dict[str, Any]]:
        """The assistant scenario's clients straight against the fake upstream, once per run:
        the reference its relays are read against (what the upstream itself delivers here)."""
        assert self.upstream is not None
        records = []
        for point in self.options.points:
            if point.kind != "assistant":
                continue
            self.reporter.step(f"the upstream alone · {point.name}")
            record: dict[str, Any] = {"target": "upstream", "scenario": point.name}
            record["kind"] = point.kind
            try:
                record.update(
                    live.measure_upstream(
                        upstream=self.upstream,
                        duration=point.seconds(self.options.duration),
                        cpus=self.live_cpus,
                        note=lambda text: self.reporter.note(f"the upstream alone: {text}"),
                    )
                )
                record["failed"] = bool(record["problems"])
            except (live.LoadFailed, subprocess.TimeoutExpired, OSError) as exc:
                record.update(failed=True, problems=[f"{type(exc).__name__}: {exc}"])
            records.append(record)
        return records

    def _measure_live(self, target: Target, server: BenchServer, point: Scenario) -> dict[str, Any]:
        """A live scenario: its own client processes, several measurement points inside."""
        record: dict[str, Any] = {"target": target.name, "scenario": point.name, "kind": point.kind}
        seconds = point.seconds(self.options.duration)
        self.reporter.step(f"{target.name} · {point.name}")
        measure = live.measure_fanout if point.kind == "fanout" else live.measure_assistant
        project = self.dataset.project("write" if point.kind == "fanout" else "hot")
        # the fan-out's writer commits straight to the database, as another worker would
        writer = (
            {"database_url": self.database.url, "actor_id": str(self.dataset.owner_id)}
            if point.kind == "fanout"
            else {}
        )
        try:
            outcome = measure(
                server=server,
                project_id=project.id,
                token=mint_token(self.dataset.owner_id),
                duration=seconds,
                cpus=self.live_cpus,
                after_point=lambda: server.wait_idle(timeout=30.0),
                note=lambda text: self.reporter.note(f"{target.name} · {point.name}: {text}"),
                **writer,
            )
            record.update(outcome)
            record["rss_mib_per_worker"] = round(server.rss_per_worker_mib(), 1)
            if outcome["problems"]:
                return self._failed(record, target, point, "; ".join(outcome["problems"]))
            record["failed"] = False
            return record
        except (live.LoadFailed, httpx.HTTPError, subprocess.TimeoutExpired, OSError) as exc:
            return self._failed(record, target, point, f"{type(exc).__name__}: {exc}")
        finally:
            if point.writes:
                server.wait_idle(timeout=30.0)  # writes cut off by the end must land first
                self._cleanup_writes()

    def _failed(
        self, record: dict[str, Any], target: Target, point: Scenario, why: str
    ) -> dict[str, Any]:
        record["failed"] = True
        record.setdefault("problems", [])
        if why not in record["problems"]:
            record["problems"].append(why)
        self._fail(target.name, point.name, why)
        if "patch" in point.pattern:
            self.etags.forget()  # a failed run may have left any ETag stale
        return record

    def _fail(self, target: str, what: str, why: str) -> None:
        self.failures += 1
        self.results.setdefault("failures", []).append({"target": target, "what": what, "why": why})
        self.reporter.alarm(f"FAILED {target} · {what}: {why}")

    def _cleanup_writes(self) -> None:
        """Remove what the write scenarios created, so every server meets the same data."""
        write = self.dataset.project("write")
        with psycopg.connect(self.database.url, autocommit=True) as conn:
            conn.execute(
                "DELETE FROM tasks WHERE project_id = %s AND title LIKE 'Bench new task%%'",
                (write.id,),
            )
            conn.execute("DELETE FROM comments WHERE body = %s", (COMMENT_BODY,))
            conn.execute("DELETE FROM activity WHERE seq > %s", (self.activity_mark,))

    # ------------------------------------------------------------------------ statements

    def _count_statements(self) -> None:
        counts: dict[str, Any] = {}
        if all(point.live for point in self.options.points):
            return  # the live scenarios' work is the streams, not statements per request
        if self.database.pg_stat_statements:
            self.results["statements"] = {
                "source": "pg_stat_statements (calls and execution time in the measured "
                "window, divided by the requests completed)",
                "counts": counts,
            }
            return
        self.results["statements"] = {
            "source": "wire-protocol count (shared.pgproxy) in a separate pass: "
            f"{sqlcount.SAMPLES} requests of each kind, one at a time; database "
            "time per request needs pg_stat_statements "
            f"({self.database.pg_stat_statements_reason or 'unavailable'})",
            "counts": counts,
        }
        self.reporter.phase("statements per request (wire-protocol count)")
        for target in self.targets():
            if not self.verified.get(target.name):
                continue
            self.reporter.step(f"{target.name}: counting statements")
            try:
                counts[target.name] = sqlcount.count(
                    target,
                    self.database.url,
                    self.dataset,
                    [point for point in self.options.points if not point.live],
                    mint_token(self.dataset.owner_id),
                    list(TARGETS).index(target.name),
                    self.layout.server,
                )
            except (RuntimeError, ServerStartError, httpx.HTTPError) as exc:
                self.reporter.alarm(f"{target.name}: statements not counted: {exc}")
            finally:
                self._cleanup_writes()


def _python() -> list[str]:
    return [sys.executable]
