"""From results.json to report.md: medians over the runs with their min–max, every figure next
to its runtime's floor measured in the same runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

IMPL_ORDER = ("fastapi", "litestar", "flask", "drf", "floor-asgi", "floor-wsgi")


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread | None:
        values = [v for v in values if v is not None]
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values))


@dataclass(frozen=True, slots=True)
class Cell:
    """One server on one scenario, over the runs."""

    rps: Spread | None
    p50: Spread | None
    p99: Spread | None
    cpu_ms: Spread | None
    rss_mib: Spread | None
    floor_ratio: Spread | None  # per-run rps / the floor's rps in the same run
    statements: float | None
    db_ms: Spread | None
    runs_ok: int
    runs_failed: int


def ordered_targets(results: dict[str, Any]) -> list[str]:
    names = list(results.get("targets", {}))
    return sorted(names, key=lambda n: IMPL_ORDER.index(n) if n in IMPL_ORDER else len(IMPL_ORDER))


def _records(results: dict[str, Any]) -> dict[tuple[str, str], list[tuple[int, dict[str, Any]]]]:
    found: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for run in results.get("runs", []):
        for record in run["results"]:
            if record.get("kind", "wrk") != "wrk":
                continue  # the live scenarios have their own figures (bench/livereport.py)
            found.setdefault((record["scenario"], record["target"]), []).append(
                (run["index"], record)
            )
    return found


def cells(results: dict[str, Any]) -> dict[tuple[str, str], Cell]:
    records = _records(results)
    counts = results.get("statements", {}).get("counts", {})
    targets = results.get("targets", {})
    out: dict[tuple[str, str], Cell] = {}
    for (scenario, target), runs in records.items():
        good = [(index, r) for index, r in runs if not r.get("failed")]
        floor = targets.get(target, {}).get("floor")
        ratios = []
        if floor and targets.get(floor, {}).get("verified", False):
            floor_by_run = {
                index: r for index, r in records.get((scenario, floor), []) if not r.get("failed")
            }
            ratios = [
                r["rps"] / floor_by_run[index]["rps"]
                for index, r in good
                if index in floor_by_run and floor_by_run[index]["rps"]
            ]
        statements = counts.get(target, {}).get(scenario)
        pgss = [r.get("statements_per_request") for _, r in good]
        if statements is None and any(v is not None for v in pgss):
            statements = statistics.median([v for v in pgss if v is not None])
        out[(scenario, target)] = Cell(
            rps=Spread.of([r["rps"] for _, r in good]),
            p50=Spread.of([r["latency_ms"]["p50"] for _, r in good]),
            p99=Spread.of([r["latency_ms"]["p99"] for _, r in good]),
            cpu_ms=Spread.of([r.get("cpu_ms_per_request") for _, r in good]),
            rss_mib=Spread.of([r.get("rss_mib_per_worker") for _, r in good]),
            floor_ratio=Spread.of(ratios),
            statements=statements,
            db_ms=Spread.of([r.get("db_ms_per_request") for _, r in good]),
            runs_ok=len(good),
            runs_failed=len(runs) - len(good),
        )
    return out


# ---------------------------------------------------------------------------- formatting


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt(spread: Spread | None, *, with_range: bool = True) -> str:
    if spread is None:
        return "—"
    if not with_range or spread.low == spread.high:
        return _num(spread.median)
    return f"{_num(spread.median)} ({_num(spread.low)}–{_num(spread.high)})"


def fmt_ratio(spread: Spread | None, *, with_range: bool = True) -> str:
    if spread is None:
        return "—"
    text = f"{spread.median * 100:.0f}%"
    if with_range and f"{spread.low * 100:.0f}" != f"{spread.high * 100:.0f}":
        text += f" ({spread.low * 100:.0f}–{spread.high * 100:.0f}%)"
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _status(results: dict[str, Any], target: str) -> str:
    entry = results["targets"].get(target, {})
    if entry.get("verified") is False:
        return "not verified"
    return ""


def wrk_scenarios(results: dict[str, Any]) -> list[str]:
    """The scenarios measured with wrk (req/s, latency, % of floor), in order."""
    return [
        name
        for name, info in results.get("scenarios", {}).items()
        if info.get("kind", "wrk") == "wrk"
    ]


def headline_table(results: dict[str, Any], table: dict[tuple[str, str], Cell]) -> list[str]:
    """Scenario × server: median req/s and % of the runtime's floor."""
    targets = ordered_targets(results)
    header = ["scenario", *targets]
    rows = []
    for scenario in wrk_scenarios(results):
        row = [f"`{scenario}`"]
        for target in targets:
            cell = table.get((scenario, target))
            if _status(results, target):
                row.append(_status(results, target))
            elif cell is None or cell.rps is None:
                row.append("failed" if cell and cell.runs_failed else "—")
            elif results["targets"][target].get("is_floor"):
                row.append(f"{_num(cell.rps.median)}")
            else:
                row.append(
                    f"{_num(cell.rps.median)} · {fmt_ratio(cell.floor_ratio, with_range=False)}"
                )
        rows.append(row)
    return _table(header, rows)


def scenario_table(
    results: dict[str, Any], table: dict[tuple[str, str], Cell], scenario: str
) -> list[str]:
    header = [
        "server",
        "req/s",
        "% of floor",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "RSS MiB/worker",
        "SQL/req",
    ]
    pgss = results.get("database", {}).get("pg_stat_statements")
    if pgss:
        header.append("DB ms/req")
    rows = []
    for target in ordered_targets(results):
        cell = table.get((scenario, target))
        status = _status(results, target)
        if status or cell is None:
            rows.append([target, status or "—", *["" for _ in header[2:]]])
            continue
        floor_text = (
            "(floor)" if results["targets"][target].get("is_floor") else fmt_ratio(cell.floor_ratio)
        )
        row = [
            target,
            fmt(cell.rps),
            floor_text,
            fmt(cell.p50),
            fmt(cell.p99),
            fmt(cell.cpu_ms, with_range=False),
            fmt(cell.rss_mib, with_range=False),
            "—" if cell.statements is None else _num(cell.statements),
        ]
        if pgss:
            row.append(fmt(cell.db_ms, with_range=False))
        if cell.runs_failed:
            row[1] += f" ⚠ {cell.runs_failed} run(s) failed"
        rows.append(row)
    return _table(header, rows)


def scale_table(results: dict[str, Any], table: dict[tuple[str, str], Cell]) -> list[str]:
    points = scale_points(results)
    if len(points) < 2:
        return []
    header = ["server", *[f"p50 / p99 ms at {label}" for label, _ in points], "p99 100k ÷ 1k"]
    rows = []
    for target in ordered_targets(results):
        row, p99s = [target], []
        for _, scenario in points:
            cell = table.get((scenario, target))
            if cell is None or cell.p50 is None:
                row.append("—")
                p99s.append(None)
            else:
                row.append(f"{_num(cell.p50.median)} / {_num(cell.p99.median)}")
                p99s.append(cell.p99.median)
        growth = f"{p99s[-1] / p99s[0]:.2f}×" if p99s[0] and p99s[-1] else "—"
        rows.append([*row, growth])
    return _table(header, rows)


def scale_points(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, scenario) from the smallest project to the largest; the 10k point is list-tasks
    (the same requests on the hot project)."""
    scenarios = results.get("scenarios", {})
    sizes = results.get("dataset", {}).get("tasks_per_project", {})
    points = []
    for name, info in scenarios.items():
        if info.get("group") == "scale" or (
            name == "list-tasks" and any(s.get("group") == "scale" for s in scenarios.values())
        ):
            tasks = sizes.get(info.get("project", "hot"), 0)
            label = f"{tasks // 1000}k" if tasks >= 1000 else str(tasks)
            points.append((tasks, label, name))
    return [(label, name) for _, label, name in sorted(points)]


def _cpus(cpus: list[int]) -> str:
    return ", ".join(map(str, cpus))


def render(results: dict[str, Any]) -> str:
    table = cells(results)
    settings = results["settings"]
    machine = results["machine"]
    database = results.get("database", {})
    dataset = results.get("dataset", {})
    pinning = settings.get("cpu_pinning")
    lines = [f"# Quartet benchmark — {results.get('started_at', '')[:10]}", ""]
    lines += [
        f"`{results.get('command', 'quartet bench')}` · commit "
        f"`{results['git']['commit'][:12]}`"
        f"{' (uncommitted changes)' if results['git'].get('dirty') else ''}"
        f" · {settings['runs']} run(s), {settings['duration_s']:g} s per scenario "
        f"(login: at least {settings.get('login_min_s', 3)} s) after {settings['warmup_s']:g} s "
        "of warm-up per server start · "
        f"{results.get('wall_seconds', 0) / 60:.1f} minutes end to end",
        "",
        f"**Machine**: {machine['cpu_model']}, {machine['cpus']} CPUs, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}, Python {machine['python']}, "
        f"PostgreSQL {database.get('server_version', '?')} "
        f"({'embedded' if database.get('embedded') else 'DATABASE_URL'}), "
        f"{results.get('load_generator', 'wrk')}. Load average "
        f"{machine['load_average_start'][0]:.1f} at the start, "
        f"{machine.get('load_average_end', [0])[0]:.1f} at the end "
        "(a shared machine: read ratios, not absolute numbers).",
        "",
        "**Setup**: each server started fresh for each run (`quartet serve IMPL --workers 1`, "
        "access log off; gunicorn gthread with "
        f"{settings['gunicorn_threads']} threads), "
        + (
            f"pinned to CPU {_cpus(pinning['server'])} with PostgreSQL, wrk and the harness on "
            f"CPU {_cpus(pinning['database_wrk_and_harness'])}"
            if pinning
            else "not pinned (fewer than 2 CPUs or no taskset)"
        )
        + f"; order shuffled per run (seed {settings['seed']}); {settings['connections']} "
        f"connections ({settings['login_connections']} for `login`); any response that is "
        "not 2xx fails the run"
        + (f"; {settings['short_window_rule']}" if settings.get("short_window_rule") else "")
        + ".",
        "",
        f"**Data**: {dataset.get('users', '?')} users, {dataset.get('projects', '?')} projects, "
        f"{dataset.get('tasks', 0):,} tasks (hot project "
        f"{dataset.get('tasks_per_project', {}).get('hot', 0):,}), labels, assignees, "
        f"comments and activity; deterministic, loaded with SQL and ANALYZEd "
        f"({dataset.get('load_seconds', '?')} s). Every user's password hash is "
        f"{dataset.get('password_hash', 'argon2id')}, so `login` costs what it costs in "
        "production.",
        "",
        "Cells: median req/s over the runs · % of the runtime's floor (bare uvicorn + asyncpg "
        "+ orjson for FastAPI and Litestar, bare gunicorn gthread + psycopg 3 + orjson for Flask "
        "and DRF), both measured in the same runs.",
        "",
    ]
    if wrk_scenarios(results):
        lines += headline_table(results, table)
        lines += ["", "![throughput](throughput.png)", "", "![latency](latency.png)", ""]
        statements = results.get("statements", {})
        lines += [f"SQL statements per request: {statements.get('source', 'not measured')}.", ""]
    for scenario in wrk_scenarios(results):
        info = results["scenarios"][scenario]
        lines += [f"## `{scenario}` — {info['title']}", ""]
        mix = ", ".join(f"{kind} {weight:.0%}" for kind, weight in info["mix"].items())
        lines += [f"{info['connections']} connections; requests: {mix}.", ""]
        lines += scenario_table(results, table, scenario)
        lines.append("")
    scale = scale_table(results, table)
    if scale:
        lines += [
            "## Scale: the task list as the project grows",
            "",
            "The same six task-list pages (filters and sorts) on projects of growing size; "
            "a flat line is the goal, a rising one is a query plan that reads more than "
            "the page.",
            "",
        ]
        lines += scale + ["", "![scale](scale.png)", ""]
    from bench import livereport

    lines += livereport.sections(results)
    lines += baseline_section(results, table)
    lines += verification_section(results)
    failures = results.get("failures", [])
    if failures:
        lines += ["## Failures", ""]
        lines += [
            f"- **{f['target']}** · {f['what']}: {f['why'].splitlines()[0][:300]}" for f in failures
        ]
        lines.append("")
    lines += [
        "## Software",
        "",
        ", ".join(
            f"{name} {version}"
            for name, version in results["packages"].items()
            if version != "not installed"
        ),
        "",
    ]
    return "\n".join(lines)


def verification_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Verification",
        "",
        "Each implementation passed the contract suite's smoke subset (`pytest -m smoke "
        "--base-url=…`) against the very server then measured; each server's answers to "
        "the scenarios' requests were compared as JSON with every implementation's.",
        "",
    ]
    for target in ordered_targets(results):
        entry = results["targets"][target]
        smoke = entry.get("smoke")
        equal = entry.get("equal_json", {})
        parts = []
        if smoke:
            parts.append(f"smoke {'passed' if smoke['passed'] else 'FAILED'}: {smoke['summary']}")
        if equal.get("agrees_with"):
            parts.append("same JSON as " + ", ".join(equal["agrees_with"]))
        for other, diffs in equal.get("differs_from", {}).items():
            parts.append(f"differs from {other}: {diffs[0][:200]}")
        verdict = "verified" if entry.get("verified") else "**not verified**"
        lines.append(f"- **{target}** ({verdict}): " + "; ".join(parts or ["—"]))
    lines.append("")
    return lines


# ---------------------------------------------------------------------------- baseline


def baseline_summary(earlier: dict[str, Any], path: str) -> dict[str, Any]:
    """The medians of an earlier session's results.json, per scenario and server."""
    summary: dict[str, dict[str, dict[str, float | None]]] = {}
    for (scenario, target), cell in cells(earlier).items():
        summary.setdefault(scenario, {})[target] = {
            "rps": cell.rps.median if cell.rps else None,
            "floor_ratio": cell.floor_ratio.median if cell.floor_ratio else None,
            "cpu_ms": cell.cpu_ms.median if cell.cpu_ms else None,
            "p99_ms": cell.p99.median if cell.p99 else None,
            "statements": cell.statements,
        }
    return {
        "path": path,
        "commit": earlier["git"]["commit"],
        "started_at": earlier.get("started_at", ""),
        "cells": summary,
    }


def _then_now(then: float | None, now: float | None, *, ratio: bool = False) -> str:
    if then is None or now is None:
        return "—"
    if ratio:
        return f"{then * 100:.0f}% → {now * 100:.0f}%"
    return f"{_num(then)} → {_num(now)}"


def _times(then: float | None, now: float | None) -> str:
    return "—" if not then or now is None else f"{now / then:.1f}×"


def baseline_section(results: dict[str, Any], table: dict[tuple[str, str], Cell]) -> list[str]:
    """Each implementation then (the `--baseline` session) and now. Absolute req/s of two
    sessions are only comparable on the same quiet machine; the share of the floor measured in
    the same runs is the figure that travels, so its ratio is given too."""
    baseline = results.get("baseline")
    if not baseline:
        return []
    lines = [
        "## Against the baseline",
        "",
        f"Then: `{baseline['path']}` (commit `{baseline['commit'][:12]}`, "
        f"{baseline.get('started_at', '')[:10]}); now: this session. Absolute req/s of two "
        "sessions compare only on the same quiet machine; the share of the floor (each measured "
        "with its floor in the same runs) is the figure that travels between sessions.",
        "",
    ]
    rows = []
    for scenario in wrk_scenarios(results):
        for target in ordered_targets(results):
            if results["targets"][target].get("is_floor"):
                continue
            then = baseline["cells"].get(scenario, {}).get(target)
            cell = table.get((scenario, target))
            if then is None or cell is None or cell.rps is None:
                continue
            ratio = cell.floor_ratio.median if cell.floor_ratio else None
            cpu = cell.cpu_ms.median if cell.cpu_ms else None
            rows.append(
                [
                    f"`{scenario}`",
                    target,
                    _then_now(then["rps"], cell.rps.median),
                    _times(then["rps"], cell.rps.median),
                    _then_now(then["floor_ratio"], ratio, ratio=True),
                    _times(then["floor_ratio"], ratio),
                    _then_now(then["cpu_ms"], cpu),
                    _then_now(then["statements"], cell.statements),
                ]
            )
    if not rows:
        return []
    header = [
        "scenario",
        "server",
        "req/s then → now",
        "×",
        "% of floor then → now",
        "× (of floor)",
        "CPU ms/req",
        "SQL/req",
    ]
    return lines + _table(header, rows) + [""]
