"""Which measurement points a choice of scenarios means, and when a window is too short."""

from __future__ import annotations

from bench.dataset import SMALL, DatasetSpec
from bench.scenarios import MIXED, SCENARIO_OPTIONS, WARM_UP, kind_weights, scenarios, select


def test_scale_means_the_small_and_the_large_project_the_hot_one_is_list_tasks() -> None:
    assert [p.name for p in select(["scale"])] == ["scale@1k", "scale@100k"]
    assert [p.list_project for p in select(["scale"], SMALL)] == ["scale-50", "scale-600"]
    assert [p.name for p in select([])][:7] == list(SCENARIO_OPTIONS[:7])
    assert DatasetSpec().hot_tasks == 10_000


def test_the_mixed_session_is_70_percent_reads_25_writes_5_comments() -> None:
    weights = kind_weights(scenarios()["mixed"])
    assert sum(weights[k] for k in ("list", "get", "projects")) == 0.70
    assert sum(weights[k] for k in ("create", "patch")) == 0.25
    assert weights["comment"] == 0.05
    assert set(WARM_UP.pattern) == set(MIXED)  # the warm-up prepares every kind but login


def test_a_window_with_too_few_requests_is_measured_again_longer() -> None:
    point = scenarios()["create-task"]
    assert point.retry_seconds(2, 30) is None
    assert point.retry_seconds(2, 0) == 8  # nothing came back: four times as long
    assert point.retry_seconds(2, 10) == 12  # aims at twice the minimum at the rate seen
    assert point.retry_seconds(2, 1) == 20  # never longer than that
    login = scenarios()["login"]
    assert login.seconds(1) == 3 and login.retry_seconds(3, 6) is None
