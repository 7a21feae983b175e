"""The whole tree is ruff-clean: lint (pyflakes, pycodestyle, import order, bugbear, ...) and
formatting, configured once in pyproject.toml. A test, so the README's one test command (and
.ci/run, which runs exactly it) checks it too."""

from __future__ import annotations

import subprocess
import sys

from support.servers import REPO_ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_check_is_clean() -> None:
    done = _ruff("check", "--output-format", "concise", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = _ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr
