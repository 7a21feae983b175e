"""The live scenarios' pure parts: the wire parsers their clients read with, the figures they
compute, the report and charts they produce (no server: the harness's end-to-end run is
`quartet bench --scenario events-fanout --scenario assistant-slow-upstream`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import charts, live, livereport, report
from bench.livestats import (
    Attempt,
    Write,
    assistant_summary,
    fanout_points,
    fanout_summary,
    memory_per_subscriber,
    percentile,
    write_schedule,
)
from bench.livewire import ChunkedDecoder, SseParser, WireError, parse_head
from bench.scenarios import SCENARIO_OPTIONS, scenarios, select

# ------------------------------------------------------------------------------ the wire


def test_a_response_head_is_parsed_with_lower_cased_names() -> None:
    head = parse_head(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nTransfer-Encoding: chunked"
    )
    assert head.status == 503 and head.headers["retry-after"] == "5" and head.chunked
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12").content_length == 12
    with pytest.raises(WireError):
        parse_head(b"SSH-2.0-OpenSSH")


CHUNKED = b'7\r\nevent: \r\n1b;ext=1\r\ntoken\ndata: {"text":"hi"}\n\n\r\n0\r\n\r\nHTTP/1.1'
BODY = b'event: token\ndata: {"text":"hi"}\n\n'


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, len(CHUNKED)])
def test_a_chunked_body_comes_out_whole_however_the_bytes_are_split(size: int) -> None:
    decoder = ChunkedDecoder()
    out = b"".join(decoder.feed(CHUNKED[i : i + size]) for i in range(0, len(CHUNKED), size))
    assert out == BODY
    assert decoder.done and decoder.rest == b"HTTP/1.1"  # what follows is the next answer's


def test_the_last_chunk_may_carry_trailer_fields() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"2\r\nok\r\n0\r\nX-Trailer: 1\r\n") == b"ok"
    assert not decoder.done
    decoder.feed(b"\r\n")
    assert decoder.done


def test_a_bad_chunk_size_is_a_wire_error() -> None:
    with pytest.raises(WireError):
        ChunkedDecoder().feed(b"zz\r\n")


def test_server_sent_events_from_any_split_with_any_line_ending() -> None:
    stream = (
        b": ping\n\n"
        b'event: activity\r\ndata: {"a":1}\r\nid: 17\r\n\r\n'
        b"data: line one\rdata: line two\r\r"
        b"event: done\ndata: {}\n\n"
    )
    for size in (1, 2, 7, len(stream)):
        parser = SseParser()
        frames = [f for i in range(0, len(stream), size) for f in parser.feed(stream[i : i + size])]
        assert [(f.event, f.data, f.id, f.comment) for f in frames] == [
            (None, None, None, True),
            ("activity", '{"a":1}', "17", False),
            (None, "line one\nline two", None, False),
            ("done", "{}", None, False),
        ]


# ------------------------------------------------------------------------------ figures


def test_percentiles_are_nearest_rank_samples() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.99) == 99
    assert percentile([3.0], 0.99) == 3.0 and percentile([], 0.5) is None


def test_fanout_latency_lost_duplicates_and_foreign_events() -> None:
    writes = [Write("a", 10.0, 10.010), Write("b", 10.020, 10.030)]
    seq_targets = {1: "a", 2: "b", 3: "other"}
    receipts = [
        [(1, 10.015), (2, 10.040)],  # both: 5 ms and 10 ms after the answers
        [(1, 10.008), (3, 10.050), (1, 10.060)],  # a before its answer (-2 ms), foreign, a again
        [],  # nothing at all
    ]
    summary = fanout_summary(writes, receipts, seq_targets)
    assert summary["deliveries"] == 3 and summary["deliveries_expected"] == 6
    assert summary["lost"] == 1 + 2  # b for the second, both for the third
    assert summary["subscribers_complete"] == 1
    assert summary["duplicates"] == 1 and summary["foreign"] == 1
    assert summary["latency_ms"]["p50"] == 5.0 and summary["latency_ms"]["max"] == 10.0
    assert sorted([summary["latency_ms"]["p50"], -2.0]) == [-2.0, 5.0]  # negative kept
    assert summary["write_round_trip_ms"]["p50"] == 10.0


def test_fanout_latency_from_the_transaction_start_is_the_upper_bound() -> None:
    writes = [Write("a", 10.0, 10.010)]
    summary = fanout_summary(
        writes, [[(1, 10.020)]], {1: "a"}, seq_created={1: 1000.005}, wall_offset=990.0
    )
    assert summary["latency_ms"]["p50"] == 10.0  # from the answer: a lower bound
    assert summary["latency_from_transaction_start_ms"]["p50"] == 15.0


def test_the_writer_is_open_loop_at_its_rate() -> None:
    assert write_schedule(50, 2) == [i / 50 for i in range(100)]
    assert write_schedule(50, 0.001) == [0.0]


def test_memory_per_subscriber_is_the_rss_delta_over_the_count() -> None:
    assert memory_per_subscriber(100.0, [(100, 102.0), (1000, 120.0), (0, 100.0)]) == {
        "100": 20.5,
        "1000": 20.5,
    }


def test_the_points_are_the_counts_the_server_holds_or_its_ceiling() -> None:
    assert fanout_points((100, 500, 1000), None) == [100, 500, 1000]
    assert fanout_points((100, 500, 1000), 1000) == [100, 500, 1000]
    assert fanout_points((100, 500, 1000), 700) == [100, 500]
    assert fanout_points((100, 500, 1000), 6) == [6]  # a sync worker: GUNICORN_THREADS - 2
    assert fanout_points((100, 500, 1000), 0) == []


def test_assistant_answers_in_the_window_against_the_ideal_refusals_apart() -> None:
    attempts = [
        Attempt(0.0, 200, 0.05, 0.45),  # ended before the window: not counted
        Attempt(0.6, 200, 0.65, 1.05),
        Attempt(1.0, 200, 1.10, 1.50),
        Attempt(1.6, 200, 1.70, 2.10),  # ended after the window
        Attempt(0.0, 503, None, 0.01, None, "5"),  # refused during the warm-up: counted
        Attempt(1.2, 200, 1.3, 1.4, "stream-error-504"),
        Attempt(1.3, None, None, None, "connection"),
    ]
    summary = assistant_summary(attempts, window=(1.0, 2.0), concurrency=2, answer_seconds=0.4)
    assert summary["answers"] == 2 and summary["answers_per_s"] == 2.0
    assert summary["ideal_per_s"] == 5.0 and summary["share_of_ideal"] == 0.4
    assert summary["refused_503"] == 1 and summary["refused_by_retry_after"] == {"5": 1}
    assert summary["errors"] == {"connection": 1, "stream-error-504": 1}
    assert summary["ttft_ms"]["p50"] == 50.0 and summary["answer_ms"]["max"] == 500.0


def test_helper_processes_get_cpus_of_their_own_when_there_are_enough() -> None:
    assert live.LiveCpus.of(None).clients is None
    two = live.LiveCpus.of([1])
    assert two.upstream == two.clients == two.writer == [1]
    four = live.LiveCpus.of([1, 2, 3, 4])
    assert (four.upstream, four.clients, four.writer) == ([2], [3], [4])


def test_the_live_scenarios_are_chosen_by_name_and_skip_the_floors() -> None:
    assert {"events-fanout", "assistant-slow-upstream"} <= set(SCENARIO_OPTIONS)
    points = select(["events-fanout"])
    assert [p.name for p in points] == ["events-fanout"] and points[0].live
    assert not scenarios()["list-tasks"].live
    assert scenarios()["assistant-slow-upstream"].seconds(2) == 5
    assert not any(p.live for p in select([]))  # opt-in: minutes per server
    assert [p.name for p in select(["live", "get-task"])] == [
        "get-task",
        "events-fanout",
        "assistant-slow-upstream",
    ]


# ------------------------------------------------------------------------------ report


def live_results() -> dict:
    def fanout(target: str, ceiling: int | None, counts: list[int], lost: int = 0) -> dict:
        return {
            "target": target,
            "scenario": "events-fanout",
            "kind": "fanout",
            "failed": bool(lost),
            "ramp": {
                "ceiling": ceiling,
                "held": ceiling or 2000,
                "limit": 2000,
                "refusal": {"status": 503, "retry_after": "5"} if ceiling else None,
                "kib_per_subscriber": {"100": 40.0} if 100 in counts else {"6": 90.0},
            },
            "points": [
                {
                    "subscribers": n,
                    "latency_ms": {"p50": 10.0 * n / 100, "p99": 30.0, "max": 40.0},
                    "latency_from_transaction_start_ms": {"p50": 12.0, "p99": 35.0, "max": 45},
                    "lost": lost,
                    "drain_end": "stalled" if lost else "complete",
                    "drain_s": 3.0,
                    "deliveries_expected": 250 * n,
                    "duplicates": 0,
                    "out_of_order": 0,
                    "writer": {"rate": 49.5},
                    "write_round_trip_ms": {"p50": 20.0},
                    "server_cpu_utilisation": 0.5,
                }
                for n in counts
            ],
        }

    def assistant(target: str, rates: list[float], refused: int) -> dict:
        return {
            "target": target,
            "scenario": "assistant-slow-upstream",
            "kind": "assistant",
            "failed": False,
            "points": [
                {
                    "concurrency": c,
                    "answers": int(rate * 5),
                    "answers_per_s": rate,
                    "ideal_per_s": c / 0.4,
                    "share_of_ideal": rate / (c / 0.4),
                    "requests": 100,
                    "refused_503": refused,
                    "errors": {},
                    "error_count": 0,
                    "ttft_ms": {"p50": 25.0, "p99": 60.0, "max": 70.0},
                    "answer_ms": {"p50": 420.0, "p99": 500.0, "max": 600.0},
                    "rss_peak_mib": 120.0,
                    "server_cpu_utilisation": 0.8,
                }
                for c, rate in zip((50, 200, 1000), rates, strict=True)
            ],
        }

    results = json.loads((Path(__file__).parent / "data" / "results-small.json").read_text())
    results["scenarios"] = {
        "events-fanout": {"title": "event streams", "kind": "fanout", "connections": 0},
        "assistant-slow-upstream": {"title": "assistant", "kind": "assistant", "connections": 0},
    }
    results["settings"]["live"] = live.settings(live.LiveCpus.of([1]))
    results["runs"] = [
        {
            "index": 1,
            "order": ["fastapi", "flask"],
            "results": [
                fanout("fastapi", 1000, [100, 500, 1000]),
                fanout("flask", 6, [6], lost=2),
                assistant("fastapi", [120.0, 400.0, 600.0], 0),
                assistant("flask", [15.0, 15.0, 14.0], 900),
                assistant("upstream", [124.0, 480.0, 900.0], 0),
            ],
        }
    ]
    return results


def test_the_live_sections_of_the_report(tmp_path: Path) -> None:
    results = live_results()
    markdown = report.render(results)
    assert "## `events-fanout`" in markdown and "## `assistant-slow-upstream`" in markdown
    assert "| scenario |" not in markdown  # no wrk scenario: no headline table
    fanout = markdown.split("## `events-fanout`")[1].split("## `assistant")[0]
    assert "| fastapi | 1,000, then 503 (Retry-After 5) | 40.0 at 100 |" in fanout
    assert "| flask | 6, then 503 (Retry-After 5) | 90.0 at 6 |" in fanout
    assert "| fastapi | 1,000 | 100 | 30.0 | 40.0 | 35.0 | 0 of 250,000 | 0 |" in fanout
    assert "| flask | 6 | 0.60 | 30.0 | 40.0 | 35.0 | 2 of 1,500 | 0 |" in fanout
    assistant = markdown.split("## `assistant-slow-upstream`")[1]
    assert "| fastapi | 1,000 | 600 | 2,500 | 24% | 25.0 | 60.0 | 420 | 0 / 100 | 0 |" in assistant
    assert "| flask | 50 | 15.0 | 125 | 12% |" in assistant
    assert "900 / 100" in assistant
    assert "| upstream | 1,000 | 900 | 2,500 | 36% |" in assistant  # the reference, last
    written = charts.draw(results, tmp_path)
    assert [p.name for p in written] == ["assistant.png", "fanout.png"]
    assert all(p.stat().st_size > 10_000 for p in written)
    lines = livereport.console_lines(results)
    assert lines[0].startswith("events-fanout · fastapi: ceiling 1,000")
    assert "assistant-slow-upstream · flask: 50: 15.0/s of 125 (503s 900)" in lines[-2]


def test_a_session_with_both_kinds_keeps_the_wrk_tables() -> None:
    results = live_results()
    small = json.loads((Path(__file__).parent / "data" / "results-small.json").read_text())
    results["scenarios"] = {**small["scenarios"], **results["scenarios"]}
    results["runs"] = [
        {**run, "results": run["results"] + live_results()["runs"][0]["results"]}
        for run in small["runs"]
    ]
    markdown = report.render(results)
    assert "| `list-tasks` |" in markdown and "## `events-fanout`" in markdown
    assert ("events-fanout", "fastapi") not in report.cells(results)


# ------------------------------------------------------------------------------ the client


def test_a_drain_ends_when_all_came_or_when_nothing_more_arrives(tmp_path: Path) -> None:
    import asyncio

    from bench.liveload import Subscriber, Subscribers

    writes = tmp_path / "writes.json"
    writes.write_text(json.dumps([{"target_id": "a", "sent": 1.0, "answered": 1.01}]))

    async def drain(events: list[list[tuple[int, float]]]) -> dict:
        subscribers = Subscribers({"url": "http://127.0.0.1:9", "path": "/", "token": "t"})
        subscribers.seq_targets[7] = "a"
        for received in events:
            subscriber = Subscriber(subscribers.seq_targets, subscribers.seq_created)
            subscriber.events = received
            subscribers.held.append(subscriber)
        return await subscribers.drain(str(writes), timeout=5, stall=0.3)

    done = asyncio.run(drain([[(7, 1.02)], [(7, 1.03)]]))
    assert done["drain_end"] == "complete" and done["lost"] == 0 and done["drain_s"] < 0.3
    stalled = asyncio.run(drain([[(7, 1.02)], []]))
    assert stalled["drain_end"] == "stalled" and stalled["lost"] == 1
    assert stalled["subscribers_complete"] == 1


def test_the_assistant_window_opens_after_the_first_answers_and_spans_two_of_them() -> None:
    import asyncio
    import time

    from bench.liveload import assistant_window

    now = time.monotonic()
    slow = [Attempt(now - 12.0, 200, now - 11.0, now - 0.5) for _ in range(20)]
    config = {"concurrency": 1000, "warmup": 0.0, "seconds": 5.0}
    start, end = asyncio.run(assistant_window(slow, now - 12.5, config))
    assert end - start == pytest.approx(2 * 11.5, abs=0.2)  # twice the answer time seen
    quick = [Attempt(now - 0.5, 200, now - 0.45, now - 0.1) for _ in range(5)]
    config = {"concurrency": 50, "warmup": 0.0, "seconds": 5.0}
    start, end = asyncio.run(assistant_window(quick, now - 1.0, config))
    assert end - start == pytest.approx(5.0, abs=0.01)  # the scenario's duration
