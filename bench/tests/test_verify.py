"""How the harness judges a smoke run and compares two servers' answers; how `quartet bench`
says what is missing."""

from __future__ import annotations

import subprocess
import sys

from bench import verify
from bench.servers import REPO_ROOT, base_env_for_tools


def test_only_a_clean_pytest_run_verifies() -> None:
    passed = verify.judge_smoke(
        0, "..............  [100%]\n14 passed, 1070 deselected in 9.1s\n", 9.1
    )
    assert passed.passed and passed.summary == "14 passed, 1070 deselected"
    failed = verify.judge_smoke(
        1, "F.\n=== 1 failed, 13 passed, 1070 deselected in 9.1s ===\n", 9.1
    )
    assert not failed.passed and failed.summary == "1 failed, 13 passed, 1070 deselected"
    assert "1 failed" in failed.output_tail
    nothing = verify.judge_smoke(5, "=== 1084 deselected in 3.0s ===\n", 3.0)
    assert not nothing.passed and nothing.summary == "no smoke test was collected"
    errored = verify.judge_smoke(0, "== 13 passed, 1 error in 5.0s ==\n", 5.0)
    assert not errored.passed


def test_writes_compare_with_new_ids_and_times_masked_but_references_kept() -> None:
    task = {
        "id": "new-1",
        "project_id": "p",
        "created_at": "t1",
        "updated_at": "t1",
        "assignee": {"id": "u1", "email": "a@x.io", "display_name": "A"},
        "labels": [{"id": "l1", "name": "bug", "color": "#000000"}],
        "version": 1,
    }
    masked = verify.mask(task)
    assert masked["id"] == masked["created_at"] == "<masked>"
    assert masked["assignee"]["id"] == "u1" and masked["labels"][0]["id"] == "l1"
    assert masked["project_id"] == "p"


def test_differences_name_the_request_and_the_first_differing_field() -> None:
    reference = {"GET /t": {"status": 200, "body": {"items": [{"labels": ["a", "b"]}]}}}
    other = {"GET /t": {"status": 200, "body": {"items": [{"labels": ["b", "a"]}]}}}
    assert verify.differences(reference, other) == ["GET /t: .body.items[0].labels[0]: a != b"]
    assert verify.differences(reference, reference) == []
    outcomes = verify.check_all(
        {"fastapi": reference, "floor-asgi": other, "flask": reference}, ["fastapi", "flask"]
    )
    assert not outcomes["floor-asgi"].verified
    assert outcomes["flask"].agrees_with == ["fastapi"]


def quartet_bench(
    *args: str, env: dict[str, str], prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    code = f"{prelude}\nimport sys\nfrom shared.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "bench", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_wrk_the_command_says_how_to_install_it() -> None:
    env = base_env_for_tools(PATH="/nonexistent")
    done = quartet_bench(env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "quartet: error: quartet bench needs wrk (the HTTP load generator): apt-get install wrk"
    ]


def test_without_the_extra_the_command_says_how_to_install_it() -> None:
    done = quartet_bench(
        env=base_env_for_tools(),
        prelude="import sys; sys.modules['rich'] = None  # as if not installed",
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e '.[bench]'" in lines[0] and "rich" in lines[0]
