"""The live scenarios' figures, from what the client processes recorded: pure functions, so the
arithmetic is tested without servers (bench/tests/test_live.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (the value below which `fraction` of the samples lie, one of
    the samples): no interpolation, so a p99 is a latency some event really had."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def latency_summary(samples: Sequence[float]) -> dict[str, float | None]:
    """p50, p99 and max of latencies in seconds, as milliseconds."""
    return {
        "p50": ms(percentile(samples, 0.50)),
        "p99": ms(percentile(samples, 0.99)),
        "max": ms(max(samples) if samples else None),
    }


# ------------------------------------------------------------------------ events-fanout


@dataclass(frozen=True, slots=True)
class Write:
    """One change the writer made: the id of what it created, when its transaction began and
    when its COMMIT returned (`answered`; time.monotonic, comparable between processes)."""

    target_id: str
    sent: float
    answered: float


def fanout_summary(
    writes: Sequence[Write],
    receipts: Sequence[Sequence[tuple[int, float]]],
    seq_targets: dict[int, str],
    seq_created: dict[int, float] | None = None,
    wall_offset: float = 0.0,
) -> dict[str, Any]:
    """Delivery of the writer's changes to every subscriber.

    `receipts[i]`: subscriber i's events as (seq, monotonic receipt time), in arrival order;
    `seq_targets`: each seq's activity target id (parsed once per seq). The latency of an event
    is its receipt time minus the moment the writer's COMMIT returned: the commit happened just
    before, so this undercounts commit-to-receipt by at most the acknowledgement's way back to
    the writer (the write's round trip is reported beside it). An event can arrive before the
    writer has read the acknowledgement: its latency is then negative, and kept.

    `seq_created` (each seq's `created_at`, epoch seconds: PostgreSQL's now(), the start of the
    writing transaction) gives the other bound: receipt (monotonic + `wall_offset` = wall clock)
    minus the transaction's start overcounts commit-to-receipt by the transaction's length.
    The true latency lies between the two.
    """
    answered = {write.target_id: write.answered for write in writes}
    latencies: list[float] = []
    from_start: list[float] = []
    lost = duplicates = out_of_order = foreign = 0
    complete = 0
    for events in receipts:
        seen: set[str] = set()
        last_seq = -1
        for seq, received in events:
            if seq <= last_seq:
                if seq == last_seq or seq_targets.get(seq) in seen:
                    duplicates += 1
                else:
                    out_of_order += 1
                continue
            last_seq = seq
            target = seq_targets.get(seq)
            if target not in answered:
                foreign += 1
                continue
            if target in seen:
                duplicates += 1
                continue
            seen.add(target)
            latencies.append(received - answered[target])
            if seq_created and seq in seq_created:
                from_start.append(received + wall_offset - seq_created[seq])
        missing = len(answered) - len(seen)
        lost += missing
        complete += missing == 0
    round_trips = [write.answered - write.sent for write in writes]
    return {
        "subscribers": len(receipts),
        "events_written": len(writes),
        "deliveries": len(latencies),
        "deliveries_expected": len(writes) * len(receipts),
        "lost": lost,
        "subscribers_complete": complete,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        "foreign": foreign,
        "latency_ms": latency_summary(latencies),
        "latency_from_transaction_start_ms": latency_summary(from_start),
        "write_round_trip_ms": latency_summary(round_trips),
    }


def write_schedule(rate: float, seconds: float) -> list[float]:
    """When the writer sends each change (seconds from its start): evenly spaced, open loop,
    so a slow answer does not lower the rate (the writer runs several requests at once)."""
    count = max(1, round(rate * seconds))
    return [index / rate for index in range(count)]


def memory_per_subscriber(
    baseline_mib: float, samples: Iterable[tuple[int, float]]
) -> dict[str, float]:
    """KiB of server RSS per held subscriber at each checkpoint: (RSS − RSS before any) / n."""
    return {
        str(count): round((rss - baseline_mib) * 1024 / count, 1)
        for count, rss in samples
        if count > 0
    }


def fanout_points(requested: Sequence[int], ceiling: int | None) -> list[int]:
    """The subscriber counts to measure: those requested that the implementation holds, or its
    ceiling alone when it holds fewer than the smallest (a sync worker's few threads)."""
    if ceiling is None:
        return list(requested)
    held = [count for count in requested if count <= ceiling]
    if held:
        return held
    return [ceiling] if ceiling > 0 else []


# -------------------------------------------------------------- assistant-slow-upstream


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request of an assistant client: when it was sent, when the first token and the end
    came (None if they never did), the status, and what went wrong if anything."""

    sent: float
    status: int | None
    first_token: float | None
    ended: float | None
    error: str | None = None  # "http-502", "stream-error", "timeout", "connection", ...
    retry_after: str | None = None  # of a refusal: 5 = a stream cap, 1 = the database pool


def assistant_summary(
    attempts: Sequence[Attempt],
    *,
    window: tuple[float, float],
    concurrency: int,
    answer_seconds: float,
) -> dict[str, Any]:
    """Answers completed inside the measured window per second, against the ideal (every
    client always waiting on an answer of `answer_seconds`); time to first token and answer
    time of those answers; refusals (503) apart from errors, over the whole run."""
    start, end = window
    seconds = end - start
    completed = [
        a
        for a in attempts
        if a.error is None and a.status == 200 and a.ended is not None and start <= a.ended < end
    ]
    # Refusals and errors over the whole run, warm-up included: clients all start at once, so
    # a capped server refuses most of them in the first moments (and they then wait out the
    # Retry-After), before the window opens.
    refused = sum(1 for a in attempts if a.status == 503)
    refused_by: dict[str, int] = {}
    for attempt in attempts:
        if attempt.status == 503:
            key = attempt.retry_after or "none"
            refused_by[key] = refused_by.get(key, 0) + 1
    errors: dict[str, int] = {}
    for attempt in attempts:
        if attempt.status != 503 and attempt.error is not None:
            errors[attempt.error] = errors.get(attempt.error, 0) + 1
    ideal = concurrency / answer_seconds
    rate = len(completed) / seconds if seconds > 0 else 0.0
    return {
        "concurrency": concurrency,
        "window_s": round(seconds, 2),
        "answers": len(completed),
        "answers_per_s": round(rate, 2),
        "ideal_per_s": round(ideal, 2),
        "share_of_ideal": round(rate / ideal, 4) if ideal else None,
        "requests": len(attempts),
        "refused_503": refused,
        "refused_by_retry_after": dict(sorted(refused_by.items())),
        "errors": dict(sorted(errors.items())),
        "error_count": sum(errors.values()),
        "ttft_ms": latency_summary(
            [a.first_token - a.sent for a in completed if a.first_token is not None]
        ),
        "answer_ms": latency_summary([a.ended - a.sent for a in completed if a.ended]),
    }
