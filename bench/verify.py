"""Before a server is measured: the contract suite's smoke subset against it (implementations),
and the equal-JSON check of every server against the others (floors included: a floor that does
not answer what the implementations answer measures nothing)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.dataset import BENCH_PASSWORD, Dataset
from bench.scenarios import API, COMMENT_BODY, create_bodies, list_queries
from bench.servers import REPO_ROOT, base_env_for_tools

SMOKE_TIMEOUT_SECONDS = 600
# Where the smoke tests live (collecting only these modules keeps pytest's start short).
SMOKE_MODULES = (
    "tests/test_auth.py",
    "tests/test_projects.py",
    "tests/test_tasks.py",
    "tests/test_comments.py",
    "tests/test_pagination.py",
    "tests/test_conditional.py",
    "tests/test_conventions.py",
)
# Fields that differ between two servers' answers to the same write (new rows, new times).
_VOLATILE = {"id", "task_id", "created_at", "updated_at", "access_token"}


@dataclass
class Verification:
    passed: bool
    summary: str
    seconds: float
    output_tail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary,
            "seconds": round(self.seconds, 1),
            "output_tail": self.output_tail,
        }


def smoke_command(base_url: str, cpus: list[int] | None) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *SMOKE_MODULES,
        "-m",
        "smoke",
        f"--base-url={base_url}",
        "-n",
        "0",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-header",
    ]
    return ["taskset", "--cpu-list", ",".join(map(str, cpus)), *argv] if cpus else argv


# pytest's last line: "14 passed, 1070 deselected in 9.81s" (with or without "=" rules)
_SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|errors?|skipped|deselected|xfailed|xpassed)"
    r".*?) in [\d.]+s",
    re.MULTILINE,
)


def run_smoke(
    base_url: str, admin_email: str, admin_password: str, cpus: list[int] | None
) -> Verification:
    """`pytest -m smoke --base-url=...` against the running server."""
    started = time.monotonic()
    env = base_env_for_tools(QUARTET_ADMIN_EMAIL=admin_email, QUARTET_ADMIN_PASSWORD=admin_password)
    try:
        done = subprocess.run(
            smoke_command(base_url, cpus),
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return Verification(
            False,
            f"the smoke tests did not finish in {SMOKE_TIMEOUT_SECONDS} s",
            time.monotonic() - started,
        )
    output = done.stdout + done.stderr
    return judge_smoke(done.returncode, output, time.monotonic() - started)


def judge_smoke(returncode: int, output: str, seconds: float) -> Verification:
    """Passed only when pytest exited 0 having run tests and none failed or errored."""
    matches = _SUMMARY.findall(output)
    summary = matches[-1] if matches else f"pytest exited {returncode}"
    tail = "\n".join(output.strip().splitlines()[-40:])
    passed = (
        returncode == 0
        and "passed" in summary
        and not re.search(r"\b(failed|error|errors)\b", summary)
    )
    if returncode == 5:
        summary = "no smoke test was collected"
    return Verification(passed, summary, seconds, "" if passed else tail)


# ------------------------------------------------------------------------ equal JSON


def capture(base_url: str, dataset: Dataset, token: str, slot: int) -> dict[str, Any]:
    """Every server's answers to the scenarios' requests, reads exactly, writes on the
    server's own check task (`slot`), with what differs between servers masked."""
    answers: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as client:
        for path in list_queries(dataset, "hot"):
            answers[f"GET {path}"] = _read(client.get(path))
        for request in static_requests_for_check(dataset):
            answers[f"GET {request}"] = _read(client.get(request), etag=True)
        answers["GET projects"] = _read(client.get(f"{API}/projects"))
        write = dataset.project("write")
        created = client.post(f"{API}/projects/{write.id}/tasks", json=create_bodies(dataset)[0])
        answers["POST task"] = _write(created, location=True, etag=True)
        task_id = dataset.check_task(slot)
        current = client.get(f"{API}/tasks/{task_id}")
        patch = {
            "title": "Checked",
            "priority": "high",
            "assignee_id": None,
            "label_ids": [write.labels[2], write.labels[0]],
        }
        patched = client.patch(
            f"{API}/tasks/{task_id}",
            json=patch,
            headers={"If-Match": current.headers.get("etag", "")},
        )
        answers["PATCH task"] = _write(patched, etag=True)
        comment = client.post(f"{API}/tasks/{task_id}/comments", json={"body": COMMENT_BODY})
        answers["POST comment"] = _write(comment, location=True)
        form = {"username": "bench-user-001@example.com", "password": BENCH_PASSWORD}
        with httpx.Client(base_url=base_url, timeout=30.0) as anonymous:
            answers["POST token"] = _write(anonymous.post(f"{API}/auth/token", data=form))
    return answers


def static_requests_for_check(dataset: Dataset) -> list[str]:
    hot = dataset.project("hot")
    return [f"{API}/tasks/{hot.task_id(i)}" for i in (0, 1, 7, hot.tasks - 1)]


def _common_headers(response: httpx.Response) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "content-type": response.headers.get("content-type", "").split(";")[0],
        "cache-control": response.headers.get("cache-control"),
        "nosniff": response.headers.get("x-content-type-options"),
    }


def _read(response: httpx.Response, *, etag: bool = False) -> dict[str, Any]:
    answer = {**_common_headers(response), "body": _body(response)}
    if etag:
        answer["etag"] = response.headers.get("etag")
    return answer


def _write(
    response: httpx.Response, *, location: bool = False, etag: bool = False
) -> dict[str, Any]:
    answer = {**_common_headers(response), "body": mask(_body(response))}
    if location:
        answer["location"] = bool(
            re.fullmatch(r"/api/v1/\w+/[0-9a-f-]{36}", response.headers.get("location", ""))
        )
    if etag:
        answer["etag"] = response.headers.get("etag") is not None
    return answer


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def mask(document: Any) -> Any:
    """Volatile fields (new ids, times, tokens) replaced by a marker; ids of existing users and
    labels, embedded in the answer, are kept."""
    if isinstance(document, dict):
        return {
            key: "<masked>"
            if key in _VOLATILE and not _is_reference(document, key)
            else mask(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [mask(item) for item in document]
    return document


_REFERENCE_SHAPES = ({"id", "email", "display_name"}, {"id", "name", "color"})


def _is_reference(document: dict[str, Any], key: str) -> bool:
    """A user summary or a label: its id is existing data, equal on every server."""
    return key == "id" and set(document) in _REFERENCE_SHAPES


def differences(reference: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Where `other` answers differently from `reference` (first difference per request)."""
    found = []
    for request, expected in reference.items():
        got = other.get(request)
        if got != expected:
            found.append(f"{request}: {_first_difference(expected, got)}")
    return found


def _first_difference(expected: Any, got: Any, path: str = "") -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got), key=str):
            if expected.get(key, "<absent>") != got.get(key, "<absent>"):
                return _first_difference(
                    expected.get(key, "<absent>"), got.get(key, "<absent>"), f"{path}.{key}"
                )
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path or 'answer'}: {str(expected)[:120]} != {str(got)[:120]}"


@dataclass
class CheckOutcome:
    """How one server's answers compare with the implementations'."""

    agrees_with: list[str] = field(default_factory=list)
    differs_from: dict[str, list[str]] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return bool(self.agrees_with)

    def to_json(self) -> dict[str, Any]:
        return {"agrees_with": self.agrees_with, "differs_from": self.differs_from}


def check_all(
    captures: dict[str, dict[str, Any]], implementations: list[str]
) -> dict[str, CheckOutcome]:
    """Every server against every verified implementation."""
    outcomes: dict[str, CheckOutcome] = {}
    for name, answers in captures.items():
        outcome = CheckOutcome()
        for impl in implementations:
            if impl == name or impl not in captures:
                continue
            diffs = differences(captures[impl], answers)
            if diffs:
                outcome.differs_from[impl] = diffs[:5]
            else:
                outcome.agrees_with.append(impl)
        outcomes[name] = outcome
    return outcomes


__all__ = [
    "CheckOutcome",
    "Verification",
    "capture",
    "check_all",
    "differences",
    "judge_smoke",
    "mask",
    "run_smoke",
]
