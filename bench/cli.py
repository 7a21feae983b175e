"""`quartet bench`: the session with a live display, then results.json, report.md, the charts
and a one-screen summary (the arguments are parsed by shared.cli)."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from bench import charts, livereport, report, scenarios, wrk
from bench import dataset as data_set
from bench.runner import Options, Reporter, Session
from bench.servers import REPO_ROOT


class UsageError(Exception):
    pass


def default_out() -> Path:
    return REPO_ROOT / "bench" / "results" / time.strftime("%Y-%m-%d")


def options_from(args: Any, impls: list[str]) -> Options:
    if args.runs < 1 or args.duration < 1 or args.warmup < 1:
        raise UsageError("--runs, --duration and --warmup must be at least 1")
    spec = data_set.SMALL if args.dataset == "small" else data_set.DatasetSpec()
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)
    argv = " ".join(sys.argv[1:]) if sys.argv and "bench" in sys.argv else "bench"
    return Options(
        impls=impls,
        points=scenarios.select(args.scenario, spec),
        runs=args.runs,
        duration=args.duration,
        warmup=args.warmup,
        out=Path(args.out) if args.out else default_out(),
        seed=seed,
        gunicorn_threads=args.gunicorn_threads,
        spec=spec,
        command=f"quartet {argv}",
    )


class RichReporter(Reporter):
    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[phase]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=console,
        )
        self.task = self.progress.add_task("", total=total, phase="starting")

    def phase(self, text: str) -> None:
        self.progress.update(self.task, phase=text[:60])
        self.console.log(f"[bold cyan]{text}")

    def step(self, text: str) -> None:
        self.progress.update(self.task, description=text)

    def advance(self) -> None:
        self.progress.advance(self.task)

    def note(self, text: str) -> None:
        self.console.log(text)

    def alarm(self, text: str) -> None:
        self.console.log(f"[bold red]{text}")


def run(args: Any, impls: list[str]) -> int:
    wrk.executable()  # WrkMissing before anything starts
    options = options_from(args, impls)
    baseline = load_baseline(args.baseline) if getattr(args, "baseline", None) else None
    console = Console(stderr=True)
    if args.profile:
        return run_profiles(args, options, console)
    reporter = RichReporter(console, 0)
    session = Session(options, reporter)
    reporter.progress.update(reporter.task, total=session.steps())
    with reporter.progress:
        results = session.run()
    if baseline is not None:
        results["baseline"] = baseline
    write_outputs(results, options.out)
    if report.wrk_scenarios(results):
        console.print(summary(results, options.out))
    for line in livereport.console_lines(results):
        console.print(line)
    console.print(f"{results.get('wall_seconds', 0) / 60:.1f} min · {options.out}/report.md")
    return 1 if session.failures else 0


def load_baseline(path: str) -> dict[str, Any]:
    """The figures of an earlier session (`--baseline`), summarised into the new results so the
    report can be rendered again from results.json alone."""
    try:
        earlier = json.loads(Path(path).read_text())
        return report.baseline_summary(earlier, path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--baseline {path}: not a results.json of quartet bench ({exc})"
        ) from None


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    (out / "report.md").write_text(report.render(results) + "\n")
    return [out / "results.json", out / "report.md", *charts.draw(results, out)]


def summary(results: dict[str, Any], out: Path) -> Table:
    table_cells = report.cells(results)
    targets = report.ordered_targets(results)
    table = Table(
        title=f"req/s (median of {results['settings']['runs']} runs) · % of floor",
        caption=f"{results.get('wall_seconds', 0) / 60:.1f} min · {out}/report.md",
        show_lines=False,
    )
    table.add_column("scenario")
    for target in targets:
        table.add_column(target, justify="right")
    for scenario in report.wrk_scenarios(results):
        row = [scenario]
        for target in targets:
            cell = table_cells.get((scenario, target))
            if results["targets"][target].get("verified") is False:
                row.append("[red]not verified")
            elif cell is None or cell.rps is None:
                row.append("[red]failed" if cell else "—")
            elif results["targets"][target]["is_floor"]:
                row.append(f"{cell.rps.median:,.0f}")
            else:
                row.append(
                    f"{cell.rps.median:,.0f} · "
                    f"{report.fmt_ratio(cell.floor_ratio, with_range=False)}"
                )
        table.add_row(*row)
    return table


def run_profiles(args: Any, options: Options, console: Console) -> int:
    from bench.profile import render
    from bench.runner import Session

    chosen = args.scenario or ["list-tasks", "get-task"]
    options.points = [p for p in scenarios.select(chosen, options.spec) if not p.live]
    if not options.points:
        raise UsageError("--profile profiles the wrk scenarios, not the live ones")
    reporter = RichReporter(console, len(args.profile) * len(options.points))
    session = Session(options, reporter)
    with reporter.progress:
        profiles = session.profile(args.profile)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "profile.md").write_text(render(profiles) + "\n")
    for entry in profiles:
        console.print(
            f"[bold]{entry['target']} · {entry['scenario']}[/]: "
            + (
                entry.get("error")
                or ", ".join(
                    f"{layer} {share:.0%}" for layer, share in list(entry["breakdown"].items())[:4]
                )
            )
        )
    console.print(f"flame graphs and profile.md in {options.out}")
    return 1 if any(entry.get("error") for entry in profiles) else 0
