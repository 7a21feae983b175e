"""report.md, the charts and the summary, rendered from a small committed results file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from bench import charts, report
from bench.cli import summary, write_outputs

RESULTS = Path(__file__).parent / "data" / "results-small.json"


@pytest.fixture
def results() -> dict:
    return json.loads(RESULTS.read_text())


def row(markdown: str, first_cell: str) -> list[str]:
    """The cells of the first table row that starts with `first_cell`."""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def test_medians_ranges_and_ratios_to_the_floor_of_the_same_run(results: dict) -> None:
    cell = report.cells(results)[("list-tasks", "fastapi")]
    assert cell.rps.median == pytest.approx(134) and (cell.rps.low, cell.rps.high) == (100, 168)
    # per run: 100 / 1,000 and 168 / 1,200 — not the ratio of the medians (134 / 1,100)
    assert (cell.floor_ratio.low, cell.floor_ratio.high) == pytest.approx((0.10, 0.14))
    assert cell.floor_ratio.median == pytest.approx(0.12)
    assert cell.statements == 7.0


def test_a_failed_run_is_left_out_and_counted(results: dict) -> None:
    cell = report.cells(results)[("list-tasks", "flask")]
    assert (cell.runs_ok, cell.runs_failed) == (1, 1)
    assert cell.rps.median == 50
    assert cell.floor_ratio.median == pytest.approx(0.10)  # run 2 only: 50 / 500


def test_report_headline_and_scenario_tables(results: dict) -> None:
    markdown = report.render(results)
    assert markdown.startswith("# Quartet benchmark — 2026-12-02")
    assert row(markdown, "`list-tasks`") == [
        "`list-tasks`",
        "134 · 12%",
        "50.0 · 10%",
        "not verified",
        "1,100",
        "500",
    ]
    fastapi = row(markdown, "fastapi")  # the first scenario table: list-tasks
    assert fastapi[:5] == [
        "fastapi",
        "134 (100–168)",
        "12% (10–14%)",
        "275 (250–300)",
        "550 (500–600)",
    ]
    assert row(markdown, "flask")[1] == "50.0 ⚠ 1 run(s) failed"
    assert row(markdown, "drf")[1] == "not verified"
    assert "pinned to CPU 0 with PostgreSQL, wrk and the harness on CPU 1" in markdown
    assert "argon2id, RFC 9106 low-memory profile" in markdown
    assert "wire-protocol count" in markdown


def test_the_scale_table_runs_from_the_smallest_project_to_the_largest(results: dict) -> None:
    assert report.scale_points(results) == [
        ("1k", "scale@1k"),
        ("10k", "list-tasks"),
        ("100k", "scale@100k"),
    ]
    scale = report.render(results).split("## Scale")[1]
    assert row(scale, "server")[1:4] == [
        "p50 / p99 ms at 1k",
        "p50 / p99 ms at 10k",
        "p50 / p99 ms at 100k",
    ]
    assert row(scale, "fastapi") == ["fastapi", "270 / 20.0", "275 / 550", "690 / 90.0", "4.50×"]


def test_verification_and_failures_are_reported(results: dict) -> None:
    markdown = report.render(results)
    assert "- **drf** (**not verified**): smoke FAILED: 1 failed, 13 passed" in markdown
    assert "- **floor-asgi** (verified): same JSON as fastapi, flask" in markdown
    assert "- **flask** · list-tasks: 3 responses were not 2xx" in markdown


def test_outputs_are_written_with_three_charts(results: dict, tmp_path: Path) -> None:
    written = write_outputs(results, tmp_path)
    names = sorted(path.name for path in written)
    assert names == ["latency.png", "report.md", "results.json", "scale.png", "throughput.png"]
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
            assert path.stat().st_size > 10_000
    assert json.loads((tmp_path / "results.json").read_text()) == results


def test_no_scale_chart_without_the_scale_scenario(results: dict, tmp_path: Path) -> None:
    for name in ("scale@1k", "scale@100k"):
        del results["scenarios"][name]
    assert [p.name for p in charts.draw(results, tmp_path)] == ["throughput.png", "latency.png"]
    assert "## Scale" not in report.render(results)


def test_the_summary_fits_one_screen(results: dict) -> None:
    console = Console(width=100, record=True)
    console.print(summary(results, Path("bench/results/x")))
    text = console.export_text()
    assert "134 · 12%" in text and "not verified" in text
    assert len(text.splitlines()) < 25


def test_the_baseline_section_puts_then_next_to_now(results: dict, tmp_path: Path) -> None:
    """`--baseline`: an earlier session's medians, summarised into the results, then and now
    side by side with the speed-up in req/s and in share of the floor."""
    earlier = json.loads(RESULTS.read_text())
    for run in earlier["runs"]:
        for record in run["results"]:
            if record["target"] == "fastapi":
                record["rps"] /= 4  # then: a quarter of now, against the same floor
    assert "Against the baseline" not in report.render(results)
    path = tmp_path / "then.json"
    path.write_text(json.dumps(earlier))
    from bench.cli import load_baseline

    results["baseline"] = load_baseline(str(path))
    markdown = report.render(results)
    assert "## Against the baseline" in markdown and earlier["git"]["commit"][:12] in markdown
    lines = [line for line in markdown.splitlines() if line.startswith("| `list-tasks` | fastapi")]
    assert len(lines) == 1
    cells = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert cells[2:6] == ["33.5 → 134", "4.0×", "3% → 12%", "4.0×"]
    assert cells[7] == "7.00 → 7.00"  # statements per request, then and now
    # a baseline that is not a results file is a usage error, not a traceback
    (tmp_path / "bad.json").write_text("{}")
    from bench.cli import UsageError

    with pytest.raises(UsageError, match="not a results.json"):
        load_baseline(str(tmp_path / "bad.json"))
