"""What wrk prints, as the harness reads it: the script's JSON line, wrk's own summary, and
everything that must fail a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import wrk

WRK_SUMMARY = """Running 2s test @ http://127.0.0.1:41234/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    31.02ms    6.21ms  88.10ms   91.20%
    Req/Sec   514.33     40.12   600.00     70.00%
  Latency Distribution
     50%   30.11ms
     75%   32.40ms
     90%   36.02ms
     99%   61.73ms
  2055 requests in 2.00s, 3.91MB read
Requests/sec:   1026.11
Transfer/sec:      1.95MB
"""


def script_line(**overrides: object) -> str:
    raw: dict[str, object] = {
        "duration_us": 2_002_731,
        "requests": 2055,
        "bytes": 4_100_000,
        "ok": 2055,
        "bad": 0,
        "primed": 0,
        "bad_statuses": {},
        "first_bad": "",
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        "latency_us": {
            "min": 9000,
            "mean": 31020.5,
            "stdev": 6210.2,
            "max": 88100,
            "p50": 30110,
            "p75": 32400,
            "p90": 36020,
            "p99": 61730,
            "p999": 80000,
        },
    }
    raw.update(overrides)
    return wrk.MARKER + json.dumps(raw, separators=(",", ":"))


def test_a_clean_run_is_read_in_milliseconds_and_requests_per_second() -> None:
    result = wrk.parse(WRK_SUMMARY + script_line() + "\n")
    assert not result.failed, result.problems
    assert result.requests == 2055
    assert result.rps == pytest.approx(2055 / 2.002731)
    assert result.latency_ms["p50"] == pytest.approx(30.11)
    assert result.latency_ms["p99"] == pytest.approx(61.73)
    assert result.latency_ms["mean"] == pytest.approx(31.0205)
    assert result.summary_rps == pytest.approx(1026.11)
    assert result.to_json()["rps"] == pytest.approx(result.rps)


def test_any_response_that_is_not_2xx_fails_the_run_and_says_which() -> None:
    line = script_line(
        ok=2050,
        bad=5,
        bad_statuses={"412": 4, "500": 1},
        first_bad='412 {"title":"Precondition Failed"}',
    )
    result = wrk.parse(WRK_SUMMARY + line)
    assert result.failed
    assert "5 responses were not 2xx (4× 412, 1× 500)" in result.problems[0]
    assert "Precondition Failed" in result.problems[0]


def test_a_redirect_is_not_a_success_either() -> None:
    # wrk itself counts only statuses > 399 as errors; the script counts anything but 2xx
    result = wrk.parse(script_line(ok=2054, bad=1, bad_statuses={"304": 1}, first_bad="304 "))
    assert result.failed and "1× 304" in result.problems[0]


def test_socket_errors_and_timeouts_fail_the_run() -> None:
    text = (
        WRK_SUMMARY
        + "  Socket errors: connect 0, read 3, write 0, timeout 2\n"
        + script_line(errors={"connect": 0, "read": 3, "write": 0, "status": 0, "timeout": 2})
    )
    result = wrk.parse(text)
    assert result.problems == ["socket errors: read 3, timeout 2"]


def test_wrk_counting_errors_the_script_did_not_see_fails_the_run() -> None:
    text = WRK_SUMMARY + "  Non-2xx or 3xx responses: 7\n" + script_line()
    assert wrk.parse(text).problems == ["wrk counted 7 non-2xx/3xx responses"]


def test_responses_that_do_not_add_up_fail_the_run() -> None:
    result = wrk.parse(script_line(ok=2000))
    assert result.problems == ["wrk completed 2055 requests but the script saw 2000 responses"]


def test_a_run_that_completed_nothing_fails() -> None:
    result = wrk.parse(script_line(requests=0, ok=0, duration_us=2_000_000))
    assert result.problems == ["no request completed"]
    assert result.rps == 0


@pytest.mark.parametrize(
    "output",
    [
        WRK_SUMMARY,  # the script did not run (no done() line)
        WRK_SUMMARY + script_line() + "\n" + script_line(),  # two runs mixed up
        WRK_SUMMARY + wrk.MARKER + "{not json",
        WRK_SUMMARY + wrk.MARKER + '{"requests": 3}',
    ],
    ids=["no line", "two lines", "malformed", "incomplete"],
)
def test_output_the_script_did_not_print_is_refused(output: str) -> None:
    with pytest.raises(wrk.WrkOutputError):
        wrk.parse(output)


def test_the_data_prelude_is_valid_lua_for_any_text() -> None:
    assert wrk.lua_literal({"a": [1, 2.5, True, None], "b": 'say "hi"\\\n'}) == (
        '{["a"] = {1, 2.5, true, nil}, ["b"] = "say \\"hi\\"\\\\\\010"}'
    )
    assert wrk.lua_literal("é") == '"\\195\\169"'
    with pytest.raises(TypeError):
        wrk.lua_literal(object())


def test_the_script_gets_its_data_and_a_set_of_the_pool(tmp_path: Path) -> None:
    path = wrk.write_script(
        tmp_path / "s.lua",
        {"pattern": ["patch"], "static": {}, "pool": ["t1", "t2"], "token": "x", "threads": 2},
    )
    text = path.read_text()
    assert text.startswith("DATA = {")
    assert '["pool_set"] = {["t1"] = true, ["t2"] = true}' in text
    assert text.endswith(wrk.SCRIPT.read_text())


def test_the_etags_the_script_learnt_and_the_tasks_left_in_flight(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text('etag a1 "3"\netag b2 "sha-like-7f"\npending c3\n')
    etags, pending = wrk.read_state(state)
    assert etags == {"a1": '"3"', "b2": '"sha-like-7f"'}
    assert pending == {"c3"}
    assert wrk.read_state(tmp_path / "absent") == ({}, set())


def test_the_command_pins_wrk_and_rounds_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wrk, "executable", lambda: "/usr/bin/wrk")
    argv = wrk.command(
        "http://127.0.0.1:1/",
        Path("s.lua"),
        connections=32,
        threads=2,
        duration=2.4,
        timeout=30,
        cpus=[1],
    )
    assert argv[:3] == ["taskset", "--cpu-list", "1"]
    assert "--duration=2s" in argv and "--connections=32" in argv and "--latency" in argv


def test_a_missing_wrk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(wrk.WrkMissing, match="apt-get install wrk"):
        wrk.executable()
