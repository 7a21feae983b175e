"""The live scenarios' sections of report.md and their charts: medians over the runs, per
implementation and per point (subscribers, or concurrent clients)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import IMPL_ORDER, _num, _table

LIVE_KINDS = ("fanout", "assistant")


def live_scenarios(results: dict[str, Any], kind: str) -> list[str]:
    return [name for name, info in results.get("scenarios", {}).items() if info.get("kind") == kind]


def live_records(results: dict[str, Any], scenario: str) -> dict[str, list[dict[str, Any]]]:
    """Each implementation's records of `scenario`, one per run, in the implementations' order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for run in results.get("runs", []):
        for record in run["results"]:
            if record["scenario"] == scenario:
                found.setdefault(record["target"], []).append(record)
    order = {name: index for index, name in enumerate((*IMPL_ORDER, "upstream"))}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _range(values: list[float | None], fmt: Callable[[float], str] = _num) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "—"
    middle = statistics.median(present)
    low, high = min(present), max(present)
    if fmt(low) == fmt(high):
        return fmt(middle)
    return f"{fmt(middle)} ({fmt(low)}–{fmt(high)})"


def _points(records: list[dict[str, Any]], key: str) -> dict[int, list[dict[str, Any]]]:
    """The runs' points by their `key` (subscribers or concurrency)."""
    by: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        for point in record.get("points", []):
            by.setdefault(point[key], []).append(point)
    return dict(sorted(by.items()))


def _merge(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for count in counts:
        for key, n in count.items():
            merged[key] = merged.get(key, 0) + n
    return merged


def _retry_afters(refused_by: dict[str, int]) -> str:
    """Which refusals they were, when not all alike: Retry-After 5 is a stream cap, 1 the
    database pool (its usual 503)."""
    if len(refused_by) < 2 and "1" not in refused_by:
        return ""
    return " (" + ", ".join(f"RA {k}: {n:,}" for k, n in sorted(refused_by.items())) + ")"


def _int(value: float) -> str:
    return f"{value:,.0f}"


# ------------------------------------------------------------------------ events-fanout


def fanout_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """An implementation's fan-out figures over the runs."""
    ramps = [r["ramp"] for r in records if "ramp" in r]
    ceilings = [r["ceiling"] for r in ramps if r.get("ceiling") is not None]
    unrefused = [r for r in ramps if r.get("ceiling") is None]
    memory: dict[str, list[float]] = {}
    for ramp in ramps:
        for count, kib in ramp.get("kib_per_subscriber", {}).items():
            memory.setdefault(count, []).append(kib)
    points = {}
    for count, runs in _points(records, "subscribers").items():
        measured = [p for p in runs if "latency_ms" in p]
        points[count] = {
            "runs": len(measured),
            "failed": [p["failed"] for p in runs if p.get("failed")],
            "p50": [p["latency_ms"]["p50"] for p in measured],
            "p99": [p["latency_ms"]["p99"] for p in measured],
            "max": [p["latency_ms"]["max"] for p in measured],
            "p99_start": [
                p.get("latency_from_transaction_start_ms", {}).get("p99") for p in measured
            ],
            "lost": sum(p["lost"] for p in measured if p.get("drain_end") != "timeout"),
            "late": sum(p["lost"] for p in measured if p.get("drain_end") == "timeout"),
            "expected": sum(p["deliveries_expected"] for p in measured),
            "duplicates": sum(p["duplicates"] + p["out_of_order"] for p in measured),
            "write_rate": [p["writer"]["rate"] for p in measured],
            "write_p50": [p["write_round_trip_ms"]["p50"] for p in measured],
            "cpu": [p.get("server_cpu_utilisation") for p in measured],
            "cpu_per_delivery": [p.get("server_cpu_us_per_delivery") for p in measured],
        }
    return {
        "ceilings": ceilings,
        "unrefused": [r["held"] for r in unrefused],
        "limit": ramps[0]["limit"] if ramps else None,
        "refusal": next((r["refusal"] for r in ramps if r.get("refusal")), None),
        "memory": memory,
        "points": points,
    }


def _ceiling_text(summary: dict[str, Any]) -> str:
    parts = []
    if summary["ceilings"]:
        parts.append(_range(summary["ceilings"], _int))
    if summary["unrefused"]:
        parts.append(f"≥ {min(summary['unrefused']):,} (none refused)")
    refusal = summary["refusal"]
    text = " / ".join(parts) or "—"
    if refusal:
        text += f", then {refusal['status']} (Retry-After {refusal.get('retry_after') or '—'})"
    return text


def fanout_section(results: dict[str, Any], scenario: str) -> list[str]:
    info = results["scenarios"][scenario]
    live = results["settings"].get("live", {})
    records = live_records(results, scenario)
    lines = [f"## `{scenario}` — {info['title']}", ""]
    lines += [
        "Per run and implementation, on one fresh worker: subscribers opened 64 at a time "
        f"until the server refuses one (the ceiling; at most {live.get('ramp_limit', 0):,}), "
        "with the worker's RSS read at "
        f"{', '.join(map(str, live.get('fanout_subscribers', [])))} held; then, for each of "
        "those counts the worker holds (or its ceiling alone when it holds fewer), that many "
        "subscribers of one project while a separate writer process commits changes to it "
        "straight to PostgreSQL (a task and its `task.created` entry: createTask's rows) at "
        f"{live.get('write_rate_per_s', 50):g}/s for the scenario's duration, every "
        "subscriber is given up to "
        f"{live.get('drain_timeout_s', 120):g} s to receive every change, and the deliveries "
        "are counted: a wait ends sooner when nothing at all has arrived for "
        f"{live.get('drain_stall_s', 10):g} s, and what is missing then is *lost*; what is "
        "missing at the end of a wait while events were still arriving is *late* (an "
        "overloaded worker). Latency: from the moment the writer's COMMIT returned to the "
        "subscriber's receipt, over every (change, subscriber) pair — a lower bound of "
        "commit-to-receipt by at most the acknowledgement's way back (write round trip given "
        'beside); "from tx start" measures from the activity\'s `created_at` (the writing '
        "transaction's start, PostgreSQL's clock): an upper bound. The worker learns of each "
        "commit as of any other process's, by LISTEN/NOTIFY, so its CPU (the last columns: "
        "share of the core over the writes and the drain, and per delivered event) is the "
        "fan-out's alone; the API's writes are the `create-task` scenario's business. Lost: "
        "deliveries that never came (must be 0).",
        "",
    ]
    header = ["server", "ceiling (streams held, then)", "KiB/subscriber"]
    rows = []
    summaries = {target: fanout_summary(runs) for target, runs in records.items()}
    for target, summary in summaries.items():
        memory = ", ".join(
            f"{_num(_median(values) or 0)} at {count}"
            for count, values in sorted(summary["memory"].items(), key=lambda kv: int(kv[0]))
        )
        rows.append([target, _ceiling_text(summary), memory or "—"])
    lines += _table(header, rows) + [""]
    header = [
        "server",
        "subscribers",
        "p50 ms",
        "p99 ms",
        "max ms",
        "p99 from tx start",
        "lost",
        "late",
        "dup./order",
        "writes/s",
        "write p50 ms",
        "server CPU",
        "CPU µs/delivery",
    ]
    rows = []
    for target, summary in summaries.items():
        for count, point in summary["points"].items():
            if not point["runs"]:
                rows.append([target, f"{count:,}", "failed: " + "; ".join(point["failed"])[:120]])
                continue
            rows.append(
                [
                    target,
                    f"{count:,}",
                    _range(point["p50"]),
                    _range(point["p99"]),
                    _num(max(point["max"])),
                    _range(point["p99_start"]),
                    f"{point['lost']:,} of {point['expected']:,}",
                    f"{point['late']:,}",
                    str(point["duplicates"]),
                    _range(point["write_rate"]),
                    _range(point["write_p50"]),
                    _range(point["cpu"], lambda v: f"{v:.0%}"),
                    _range(point["cpu_per_delivery"]),
                ]
            )
    lines += _table(header, rows)
    lines += ["", "![events-fanout](fanout.png)", ""]
    return lines


# --------------------------------------------------------------- assistant-slow-upstream


def assistant_summary(records: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out = {}
    for concurrency, runs in _points(records, "concurrency").items():
        measured = [p for p in runs if "answers_per_s" in p]
        errors: dict[str, int] = {}
        for point in measured:
            for kind, count in point["errors"].items():
                errors[kind] = errors.get(kind, 0) + count
        out[concurrency] = {
            "runs": len(measured),
            "failed": [p["failed"] for p in runs if "failed" in p],
            "rate": [p["answers_per_s"] for p in measured],
            "ideal": measured[0]["ideal_per_s"] if measured else None,
            "share": [p["share_of_ideal"] for p in measured],
            "ttft_p50": [p["ttft_ms"]["p50"] for p in measured],
            "ttft_p99": [p["ttft_ms"]["p99"] for p in measured],
            "answer_p50": [p["answer_ms"]["p50"] for p in measured],
            "refused": sum(p["refused_503"] for p in measured),
            "refused_by": _merge([p.get("refused_by_retry_after", {}) for p in measured]),
            "stuck": sum(p.get("unanswered_over_5s", 0) for p in measured),
            "requests": sum(p["requests"] for p in measured),
            "errors": errors,
            "rss": [p.get("rss_peak_mib") for p in measured],
            "cpu": [p.get("server_cpu_utilisation") for p in measured],
        }
    return out


def assistant_section(results: dict[str, Any], scenario: str) -> list[str]:
    info = results["scenarios"][scenario]
    live = results["settings"].get("live", {})
    records = live_records(results, scenario)
    answer_ms = live.get("answer_s", 0.4) * 1000
    lines = [f"## `{scenario}` — {info['title']}", ""]
    lines += [
        f"The upstream: `{live.get('upstream', 'quartet fake-llm')}` in its own process "
        f"(≈ {answer_ms:.0f} ms per answer). Per run and implementation, on one fresh worker: "
        f"{', '.join(map(str, live.get('assistant_concurrency', [])))} clients, each asking "
        "(`stream: true`), reading the whole answer and asking again on the same connection; "
        "a refused client waits the `Retry-After` it was given, as a well-behaved client does. "
        "Measured: the answers completed in a window of the scenario's duration (or twice "
        "the answer time seen by then, if longer) that opens after at least "
        f"{live.get('assistant_warmup_s', 1):g} s of load, once the first answers have come "
        "(clients start at once: a slow server makes every answer slow alike); ideal = "
        "clients ÷ the upstream's answer time. TTFT: from the request to the first "
        "`event: token`. 503s (the sync "
        "implementations' documented cap: a long call holds a thread, GUNICORN_THREADS − 2 per "
        "worker) are counted apart from errors; *waiting > 5 s*: clients whose request had "
        "had neither an answer nor a refusal for more than 5 s when the run ended (past its "
        "capacity a server should refuse promptly, not keep clients waiting). *upstream*: the "
        "same clients straight "
        "against the fake (no server, no relay), in the same run: what the upstream process "
        "itself delivers on this machine, which no relay can beat.",
        "",
    ]
    header = [
        "server",
        "clients",
        "answers/s",
        "ideal",
        "% of ideal",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "answer p50 ms",
        "503s / requests",
        "waiting > 5 s at end",
        "errors",
        "peak RSS MiB",
        "server CPU",
    ]
    rows = []
    for target, runs in records.items():
        for concurrency, point in assistant_summary(runs).items():
            if not point["runs"]:
                rows.append(
                    [target, f"{concurrency:,}", "failed: " + "; ".join(point["failed"])[:120]]
                )
                continue
            errors = ", ".join(f"{k} {v}" for k, v in point["errors"].items()) or "0"
            rows.append(
                [
                    target,
                    f"{concurrency:,}",
                    _range(point["rate"]),
                    _num(point["ideal"] or 0),
                    _range(point["share"], lambda v: f"{v:.0%}"),
                    _range(point["ttft_p50"]),
                    _range(point["ttft_p99"]),
                    _range(point["answer_p50"]),
                    f"{point['refused']:,} / {point['requests']:,}"
                    + _retry_afters(point["refused_by"]),
                    f"{point['stuck']:,}",
                    errors,
                    _range(point["rss"]),
                    _range(point["cpu"], lambda v: f"{v:.0%}"),
                ]
            )
    lines += _table(header, rows)
    lines += ["", "![assistant-slow-upstream](assistant.png)", ""]
    return lines


def sections(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for scenario in live_scenarios(results, "fanout"):
        lines += fanout_section(results, scenario)
    for scenario in live_scenarios(results, "assistant"):
        lines += assistant_section(results, scenario)
    return lines


# ------------------------------------------------------------------------------- charts


def draw(results: dict[str, Any], out: Path, colors: dict[str, str]) -> list[Path]:
    import matplotlib.pyplot as plt

    written = []
    for scenario in live_scenarios(results, "assistant"):
        figure, ax = plt.subplots(figsize=(7, 4.2))
        ideal: dict[int, float] = {}
        for target, runs in live_records(results, scenario).items():
            summary = assistant_summary(runs)
            xs = [c for c, p in summary.items() if p["runs"]]
            if not xs:
                continue
            for c in xs:
                ideal[c] = summary[c]["ideal"]
            ax.plot(
                xs,
                [max(0.1, _median(summary[c]["rate"]) or 0.1) for c in xs],
                marker="o",
                color=colors.get(target, "#888888"),
                linestyle=":" if target == "upstream" else "-",
                label="upstream alone" if target == "upstream" else target,
            )
        if ideal:
            xs = sorted(ideal)
            ax.plot(xs, [ideal[c] for c in xs], linestyle="--", color="#000000", label="ideal")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sorted(ideal) or [1], [str(c) for c in sorted(ideal)] or ["1"])
        ax.set_xlabel("concurrent clients (one worker)")
        ax.set_ylabel("answers completed per second")
        ax.set_title("Assistant over a slow upstream: answers/s vs concurrency")
        ax.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(out / "assistant.png", dpi=110)
        plt.close(figure)
        written.append(out / "assistant.png")
    for scenario in live_scenarios(results, "fanout"):
        figure, ax = plt.subplots(figsize=(7, 4.2))
        plotted = False
        for target, runs in live_records(results, scenario).items():
            summary = fanout_summary(runs)
            xs = [c for c, p in summary["points"].items() if p["runs"]]
            if not xs:
                continue
            color = colors.get(target, "#888888")
            ax.plot(
                xs,
                [max(0.1, _median(summary["points"][c]["p99"]) or 0.1) for c in xs],
                marker="o",
                color=color,
                label=f"{target} p99",
            )
            ax.plot(
                xs,
                [max(0.1, _median(summary["points"][c]["p50"]) or 0.1) for c in xs],
                marker=".",
                linestyle="--",
                color=color,
                alpha=0.6,
            )
            plotted = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("subscribers on one worker")
        ax.set_ylabel("delivery latency, ms (p99 solid, p50 dashed)")
        ax.set_title("Event fan-out at 50 changes/s")
        if plotted:
            ax.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(out / "fanout.png", dpi=110)
        plt.close(figure)
        written.append(out / "fanout.png")
    return written


def console_lines(results: dict[str, Any]) -> list[str]:
    """One line per implementation and point, for the summary printed at the end."""
    lines = []
    for scenario in live_scenarios(results, "fanout"):
        for target, runs in live_records(results, scenario).items():
            summary = fanout_summary(runs)
            points = ", ".join(
                f"{count}: p99 {_num(_median(p['p99']) or 0)} ms, lost {p['lost']}"
                + (f", late {p['late']}" if p["late"] else "")
                for count, p in summary["points"].items()
                if p["runs"]
            )
            lines.append(f"{scenario} · {target}: ceiling {_ceiling_text(summary)}; {points}")
    for scenario in live_scenarios(results, "assistant"):
        for target, runs in live_records(results, scenario).items():
            points = ", ".join(
                f"{c}: {_num(_median(p['rate']) or 0)}/s of {_num(p['ideal'] or 0)}"
                f" (503s {p['refused']})"
                for c, p in assistant_summary(runs).items()
                if p["runs"]
            )
            lines.append(f"{scenario} · {target}: {points}")
    return lines
