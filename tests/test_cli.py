"""The `quartet` command line (README "Running against your own PostgreSQL", `quartet --help`):
help everywhere, one-line errors with status 2, an idempotent migration, and a first admin who
can log in."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from shared.implementations import IMPLEMENTATIONS, built
from shared.processes import free_port
from support.client import ContractClient
from support.factories import login
from support.servers import REPO_ROOT, base_env

DEAD_DATABASE = f"postgresql://postgres@127.0.0.1:{free_port()}/none?sslmode=disable"


def quartet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script when there is one (what a user runs), else the module."""
    script = Path(sys.executable).parent / "quartet"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "shared.cli"]
    return subprocess.run(
        [*command, *args],
        cwd=REPO_ROOT,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["serve"],
        ["db"],
        ["db", "migrate"],
        ["db", "seed"],
        ["create-admin"],
        ["bench"],
    ],
    ids=lambda args: " ".join(args) or "quartet",
)
def test_help(args: list[str]) -> None:
    done = quartet(*args, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout.lower()


def test_commands_work_where_the_bench_package_is_not_installed() -> None:
    """The Docker image installs shared/ and impl_*/ only: `quartet` must not need bench/."""
    without_bench = (
        "import sys; sys.modules['bench'] = None; from shared.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    for args in (["serve", "--help"], ["--help"]):
        done = subprocess.run(
            [sys.executable, "-c", without_bench, *args],
            cwd=REPO_ROOT,
            env=base_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout.lower()


UNBUILT = [name for name in IMPLEMENTATIONS if name not in built()]
BAD_ARGUMENTS = {
    "no command": ([], {}),
    "unknown command": (["frobnicate"], {}),
    "unknown implementation": (["serve", "nope"], {}),
    "port not a number": (["serve", "fastapi", "--port", "http"], {}),
    "port zero": (["serve", "fastapi", "--port", "0"], {}),
    "port too big": (["serve", "fastapi", "--port", "65536"], {}),
    "no workers": (["serve", "fastapi", "--workers", "0"], {}),
    "db without action": (["db"], {}),
    "seed without --demo": (["db", "seed"], {}),
    "create-admin without --email": (["create-admin"], {"QUARTET_ADMIN_PASSWORD": "x" * 20}),
    "create-admin bad email": (
        ["create-admin", "--email", "not-an-email"],
        {"QUARTET_ADMIN_PASSWORD": "x" * 20},
    ),
    "create-admin short password": (
        ["create-admin", "--email", "a@example.com"],
        {"QUARTET_ADMIN_PASSWORD": "x" * 14},
    ),
    "create-admin long password": (
        ["create-admin", "--email", "a@example.com"],
        {"QUARTET_ADMIN_PASSWORD": "x" * 129},
    ),
    "create-admin empty display name": (
        ["create-admin", "--email", "a@example.com", "--display-name", ""],
        {"QUARTET_ADMIN_PASSWORD": "x" * 20},
    ),
    "create-admin no password, no terminal": (["create-admin", "--email", "a@example.com"], {}),
    "WEB_CONCURRENCY zero": (["serve", "fastapi"], {"WEB_CONCURRENCY": "0"}),
    "WEB_CONCURRENCY not a number": (["serve", "fastapi"], {"WEB_CONCURRENCY": "four"}),
    "bench unknown scenario": (["bench", "--scenario", "nope"], {}),
    "bench unknown implementation": (["bench", "--impl", "nope"], {}),
    "bench zero runs": (["bench", "--runs", "0"], {}),
}
if UNBUILT:
    BAD_ARGUMENTS["unbuilt implementation"] = (["serve", UNBUILT[0]], {})


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_with_one_line(case: str) -> None:
    args, extra_env = BAD_ARGUMENTS[case]
    done = quartet(*args, env=base_env(DATABASE_URL=DEAD_DATABASE, **extra_env))
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{done.stderr}"
    assert "error" in lines[0].lower()
    assert done.stdout == ""


def test_unreachable_database_is_one_line_not_a_traceback() -> None:
    done = quartet("db", "migrate", env=base_env(DATABASE_URL=DEAD_DATABASE))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_migrate_is_idempotent(pg_cluster) -> None:
    url = pg_cluster.create_database("quartet_test_cli")
    env = base_env(DATABASE_URL=url)
    first = quartet("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    with psycopg.connect(url) as conn:
        tables_before = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    second = quartet("db", "migrate", env=env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    with psycopg.connect(url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        tables_after = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert len(versions) == len(set(versions)) >= 1
    assert tables_after == tables_before >= 8


@pytest.mark.slow
def test_created_admin_logs_in_and_creates_users(pg_cluster, spawn_server, contract) -> None:
    url = pg_cluster.create_database("quartet_test_cli")
    env = base_env(DATABASE_URL=url)
    assert quartet("db", "migrate", env=env).returncode == 0
    email, password = f"First.Admin-{uuid.uuid4().hex[:8]}@Example.com", "p" * 15
    done = quartet(
        "create-admin",
        "--email",
        email,
        "--display-name",
        "First Admin",
        env={**env, "QUARTET_ADMIN_PASSWORD": password},
    )
    assert done.returncode == 0, done.stderr
    again = quartet(
        "create-admin", "--email", email.upper(), env={**env, "QUARTET_ADMIN_PASSWORD": password}
    )
    assert again.returncode != 0 and len(again.stderr.strip().splitlines()) == 1, again.stderr

    extra = spawn_server(url)
    with ContractClient(extra.base_url, contract=contract) as api:
        token = login(api, email.lower(), password)
        admin = api.authed(token)
        me = admin.get("/api/v1/me").json()
        assert me["email"] == email.lower()
        assert me["display_name"] == "First Admin"
        assert me["is_admin"] is True
        created = admin.post(
            "/api/v1/users",
            json={"email": "second@example.com", "display_name": "Second", "password": "q" * 15},
        )
        assert created.status_code == 201, created.text


def _worker_processes(parent: int) -> list[int]:
    """The server's worker processes: its children, less multiprocessing's resource tracker."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if int(fields[1]) == parent and b"resource_tracker" not in cmdline:
            workers.append(int(stat.parent.name))
    return workers


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes in /proc")
def test_web_concurrency_sets_the_worker_count(server, spawn_server) -> None:
    extra = spawn_server(env={"WEB_CONCURRENCY": "3"})
    deadline = time.monotonic() + 30
    while len(workers := _worker_processes(extra.pid)) != 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 3, f"{server.impl}: worker processes {workers}"


def test_console_script_is_installed() -> None:
    assert shutil.which("quartet", path=str(Path(sys.executable).parent)), (
        "the `quartet` console script is missing from the virtualenv"
    )
