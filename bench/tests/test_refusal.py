"""An implementation that fails the smoke tests is reported "not verified" and never measured;
one that passes is measured on every scenario of every run."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from bench import runner, verify
from bench.dataset import SMALL
from bench.runner import Layout, Options, Reporter, Session
from bench.scenarios import select


class FakeServer:
    def __init__(self, target: Any, database_url: str, *, cpus: Any, **_: Any) -> None:
        self.target, self.base_url, self.process = target, f"http://fake/{target.name}", None

    def start(self) -> FakeServer:
        STARTED.append(self.target.name)
        return self

    def stop(self) -> None:
        pass


STARTED: list[str] = []


class Recorder(Reporter):
    def __init__(self) -> None:
        self.alarms: list[str] = []

    def alarm(self, text: str) -> None:
        self.alarms.append(text)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Session:
    STARTED.clear()
    smoke = {
        "fastapi": verify.Verification(True, "14 passed", 1.0),
        "drf": verify.Verification(False, "1 failed, 13 passed", 1.0, "FAILED test_x"),
    }
    monkeypatch.setattr(runner, "BenchServer", FakeServer)
    monkeypatch.setattr(verify, "run_smoke", lambda url, *a: smoke[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(verify, "capture", lambda url, *a: {"GET x": {"body": 1}})
    measured: list[tuple[str, str]] = []

    def measure(self: Session, target: Any, server: Any, point: Any) -> dict[str, Any]:
        assert self.verified.get(target.name), f"{target.name} measured before verification"
        measured.append((target.name, point.name))
        return {"target": target.name, "scenario": point.name, "failed": False}

    monkeypatch.setattr(Session, "_measure", measure)
    monkeypatch.setattr(Session, "_warm_up", lambda self, target, server: None)
    monkeypatch.setattr(Session, "_cleanup_writes", lambda self: None)
    options = Options(
        impls=["fastapi", "drf"],
        points=select(["list-tasks", "login"], SMALL),
        runs=2,
        duration=1,
        warmup=1,
        out=tmp_path,
        seed=3,
        spec=SMALL,
    )
    session = Session(options, Recorder(), Layout(None, None))
    session.results = {}
    session.admin_password = "x"
    session.dataset = type("FakeDataset", (), {"owner_id": str(uuid.uuid4())})()  # type: ignore[assignment]
    session.database = type("FakeDatabase", (), {"url": "postgresql://fake/db"})()  # type: ignore[assignment]
    session.measured = measured  # type: ignore[attr-defined]
    return session


def test_an_unverified_implementation_is_not_measured(session: Session) -> None:
    session._measure_runs()
    measured = session.measured  # type: ignore[attr-defined]
    assert ("drf", "list-tasks") not in measured and ("drf", "login") not in measured
    targets = session.results["targets"]
    assert targets["drf"]["verified"] is False
    assert targets["drf"]["smoke"]["summary"] == "1 failed, 13 passed"
    assert any("NOT VERIFIED" in alarm and "drf" in alarm for alarm in session.reporter.alarms)  # type: ignore[attr-defined]
    assert session.failures >= 1
    # started once, for its verification, and never again in the second run
    assert STARTED.count("drf") == 1
    assert all(r["target"] != "drf" for run in session.results["runs"] for r in run["results"])


def test_verified_servers_are_measured_in_every_run_in_a_recorded_order(session: Session) -> None:
    session._measure_runs()
    measured = session.measured  # type: ignore[attr-defined]
    for target in ("fastapi", "floor-asgi", "floor-wsgi"):
        assert [m for m in measured if m[0] == target] == [
            (target, "list-tasks"),
            (target, "login"),
        ] * 2
    orders = [run["order"] for run in session.results["runs"]]
    assert all(sorted(order) == ["drf", "fastapi", "floor-asgi", "floor-wsgi"] for order in orders)
    assert session.results["targets"]["floor-asgi"]["verified"] is True


def test_the_order_is_reproducible_from_the_seed(session: Session) -> None:
    session._measure_runs()
    first = [run["order"] for run in session.results["runs"]]
    STARTED.clear()
    session.results = {}
    session._measure_runs()
    assert [run["order"] for run in session.results["runs"]] == first
