"""Settings (contract/DECISIONS.md "Secrets and passwords", "Throttled sign-in"; README):
the development SECRET_KEY only on loopback, and every setting documented where a user looks.

The loopback rule lives in `quartet serve` (shared), before any implementation is imported,
so it is tested once, with the first selected implementation.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest

from shared.implementations import built
from shared.processes import STARTUP_TIMEOUT_SECONDS, free_port
from shared.settings import DEV_SECRET_KEY, SETTING_NAMES
from support.servers import (
    REPO_ROOT,
    TEST_SECRET_KEY,
    base_env,
)

# Nothing listens here: the servers below need no database to start (liveness).
NO_DATABASE = f"postgresql://postgres@127.0.0.1:{free_port()}/none?sslmode=disable"
REFUSAL_TIMEOUT = 30.0  # a refusal takes a second; a server that starts instead, forever


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest) -> str:
    selected = [i for i in request.config.quartet_impls if i != "remote"]  # type: ignore[attr-defined]
    return (selected or built())[0]


@contextlib.contextmanager
def serving(impl: str, host: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, int]]:
    """`quartet serve IMPL --host HOST` on a free port; stopped (its whole group) at the end."""
    port = free_port()
    output = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve", impl, "--host", host, "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.output = output  # type: ignore[attr-defined]
    try:
        yield process, port
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.communicate(timeout=40)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.communicate(timeout=10)
        output.close()


def settings_env(secret_key: str | None) -> dict[str, str]:
    env = base_env(DATABASE_URL=NO_DATABASE, PASSWORD_HASH_PROFILE="test")
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    return env


def output_of(process: subprocess.Popen) -> str:
    process.output.seek(0)  # type: ignore[attr-defined]
    return process.output.read()  # type: ignore[attr-defined]


def answers_healthz(process: subprocess.Popen, port: int) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return True
        time.sleep(0.2)
    return False


# ------------------------------------------------------------------------ SECRET_KEY


@pytest.mark.parametrize(
    ("host", "secret_key"),
    [
        ("0.0.0.0", None),
        ("::", None),
        ("192.0.2.10", None),
        ("quartet.example", None),
        ("0.0.0.0", ""),  # set but empty: not a key
        ("0.0.0.0", DEV_SECRET_KEY),  # the development key, spelled out
    ],
    ids=["0.0.0.0 unset", ":: unset", "LAN address unset", "host name unset", "empty", "dev key"],
)
def test_serve_refuses_a_non_loopback_host_without_a_secret_key(
    impl: str, host: str, secret_key: str | None
) -> None:
    command = [sys.executable, "-m", "shared.cli", "serve", impl, "--host", host]
    process = subprocess.Popen(
        [*command, "--port", str(free_port())],
        cwd=REPO_ROOT,
        env=settings_env(secret_key),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=REFUSAL_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)
        pytest.fail(f"quartet serve {impl} --host {host} started without a SECRET_KEY")
    assert process.returncode == 2, (process.returncode, stdout, stderr)
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "SECRET_KEY" in lines[0], lines[0]
    assert stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_serve_on_loopback_starts_with_the_development_key(impl: str, host: str) -> None:
    with serving(impl, host, settings_env(None)) as (process, port):
        assert answers_healthz(process, port), (
            f"quartet serve {impl} --host {host} without SECRET_KEY did not start: "
            f"exit status {process.poll()}; output:\n{output_of(process)[-3000:]}"
        )


@pytest.mark.slow
def test_serve_on_every_address_starts_with_a_secret_key(impl: str) -> None:
    """The refusal above is about the key, not the address."""
    with serving(impl, "0.0.0.0", settings_env(TEST_SECRET_KEY)) as (process, port):
        assert answers_healthz(process, port), (
            f"quartet serve {impl} --host 0.0.0.0 with a SECRET_KEY did not start: "
            f"exit status {process.poll()}; output:\n{output_of(process)[-3000:]}"
        )


# ------------------------------------------------------------------------ documented


README = (REPO_ROOT / "README.md").read_text()
ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text()

# Contract 1.1's settings and their defaults (DECISIONS "Throttled sign-in").
DEFAULTS_1_1 = {
    "TRUSTED_PROXIES": "",
    "LOGIN_THROTTLE_WINDOW_SECONDS": "900",
    "LOGIN_MAX_FAILURES_PER_PAIR": "10",
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "100",
}


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_the_readme_names_every_setting(name: str) -> None:
    mentioned = re.search(rf"\b{name}\b", README) is not None
    assert mentioned, f"the README does not mention {name}"


@pytest.mark.parametrize("name", list(DEFAULTS_1_1))
def test_env_example_shows_each_1_1_setting_with_its_default(name: str) -> None:
    assert name in SETTING_NAMES
    lines = re.findall(rf"^#? ?{name}=(.*)$", ENV_EXAMPLE, re.MULTILINE)
    assert lines, f".env.example has no line for {name}"
    assert [value.strip() for value in lines] == [DEFAULTS_1_1[name]], (
        f".env.example: {name}={lines}, the contract's default is {DEFAULTS_1_1[name]!r}"
    )
