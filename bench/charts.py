"""PNG charts of a results file (matplotlib, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import livereport
from bench.report import Cell, cells, ordered_targets, scale_points, wrk_scenarios

COLORS = {
    "fastapi": "#009688",
    "litestar": "#e0a526",
    "flask": "#555555",
    "drf": "#a30000",
    "floor-asgi": "#9ecae1",
    "floor-wsgi": "#c7c7c7",
    "upstream": "#7b3294",
}


def _grid(count: int) -> tuple[int, int]:
    columns = min(3, count)
    return math.ceil(count / columns), columns


def _per_scenario(results: dict[str, Any]) -> tuple[Any, list[tuple[Any, str]], list[str]]:
    """A figure with one panel per scenario: (figure, [(panel, scenario)], targets in order)."""
    scenarios = wrk_scenarios(results)
    rows, columns = _grid(len(scenarios))
    # At least 6.4 in wide: a single panel's figure must still hold the whole title.
    size = (max(4.2 * columns, 6.4), 3.0 * rows)
    figure, axes = plt.subplots(rows, columns, figsize=size, squeeze=False)
    for ax in list(axes.flat)[len(scenarios) :]:
        ax.axis("off")
    panels = list(zip(axes.flat, scenarios, strict=False))
    return figure, panels, ordered_targets(results)


def _label_panel(ax: Any, positions: range, names: list[str], scenario: str, unit: str) -> None:
    ax.set_xticks(positions, names, rotation=30, ha="right", fontsize=8)
    ax.set_title(scenario, fontsize=10)
    ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)


def _save(figure: Any, path: Path, title: str | None = None) -> None:
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def throughput(results: dict[str, Any], table: dict[tuple[str, str], Cell], path: Path) -> None:
    figure, panels, targets = _per_scenario(results)
    for ax, scenario in panels:
        names, medians, errors, colors = [], [], [[], []], []
        for target in targets:
            cell = table.get((scenario, target))
            if cell is None or cell.rps is None:
                continue
            names.append(target)
            medians.append(cell.rps.median)
            errors[0].append(cell.rps.median - cell.rps.low)
            errors[1].append(cell.rps.high - cell.rps.median)
            colors.append(COLORS.get(target, "#888888"))
        ax.bar(range(len(names)), medians, yerr=errors, color=colors, capsize=3)
        _label_panel(ax, range(len(names)), names, scenario, "req/s")
    _save(figure, path, "Throughput: median of the runs, bars from min to max")


def latency(results: dict[str, Any], table: dict[tuple[str, str], Cell], path: Path) -> None:
    figure, panels, targets = _per_scenario(results)
    for ax, scenario in panels:
        names, p50, p99, colors = [], [], [], []
        for target in targets:
            cell = table.get((scenario, target))
            if cell is None or cell.p50 is None:
                continue
            names.append(target)
            p50.append(cell.p50.median)
            p99.append(cell.p99.median)
            colors.append(COLORS.get(target, "#888888"))
        positions = range(len(names))
        ax.bar(positions, p99, color=colors, alpha=0.35, label="p99")
        ax.bar(positions, p50, color=colors, label="p50")
        _label_panel(ax, positions, names, scenario, "ms")
    _save(figure, path, "Latency: p50 (solid) and p99 (light), medians of the runs")


def scale(results: dict[str, Any], table: dict[tuple[str, str], Cell], path: Path) -> bool:
    points = scale_points(results)
    if len(points) < 2:
        return False
    sizes = results["dataset"]["tasks_per_project"]
    x_values = [sizes[results["scenarios"][name]["project"]] for _, name in points]
    figure, ax = plt.subplots(figsize=(7, 4.2))
    for target in ordered_targets(results):
        p50 = [getattr(table.get((name, target)), "p50", None) for _, name in points]
        p99 = [getattr(table.get((name, target)), "p99", None) for _, name in points]
        if any(v is None for v in p50 + p99):
            continue
        color = COLORS.get(target, "#888888")
        ax.plot(x_values, [v.median for v in p99], marker="o", color=color, label=f"{target} p99")
        ax.plot(
            x_values, [v.median for v in p50], marker=".", linestyle="--", color=color, alpha=0.6
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(x_values, [label for label, _ in points])
    ax.set_xlabel("tasks in the project")
    ax.set_ylabel("latency, ms (p99 solid, p50 dashed)")
    ax.set_title("The task list as the project grows (flat is the goal)")
    ax.legend(fontsize=8, ncol=2)
    _save(figure, path)
    return True


def draw(results: dict[str, Any], out: Path) -> list[Path]:
    table = cells(results)
    written: list[Path] = []
    if wrk_scenarios(results):
        written += [out / "throughput.png", out / "latency.png"]
        throughput(results, table, written[0])
        latency(results, table, written[1])
    if scale(results, table, out / "scale.png"):
        written.append(out / "scale.png")
    return written + livereport.draw(results, out, COLORS)
