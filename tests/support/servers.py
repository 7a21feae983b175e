"""Real PostgreSQL and real production servers for the suite, started as the user would start
them: `quartet db migrate`, `quartet create-admin` and `quartet serve IMPL` as subprocesses.

Reusable on purpose: besides the one server per implementation of the `server` fixture, tests
start extra ones (two servers on one database, a server with a dead DATABASE_URL, a server
behind a counting proxy) with `start_server()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from shared.database import normalise, with_database
from shared.processes import (
    ServedProcess,
    ServerStartError,
)
from shared.settings import SETTING_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
# A fixed key, the same for every server of a session: tokens and cursors minted by one
# implementation must work on the others (contract/DECISIONS.md "Auth", "Pagination").
TEST_SECRET_KEY = "quartet-contract-suite-secret-key-not-for-production-0123456789abcdef"
CORS_ORIGIN = "https://allowed.example"
ACCESS_TOKEN_TTL_SECONDS = 1800
# Tokens the suite keeps (the admin's, pooled users') are renewed after this long: a run on a
# loaded machine outlives a token.
TOKEN_REFRESH_SECONDS = ACCESS_TOKEN_TTL_SECONDS * 2 // 3

# Settings a developer's shell may carry that would change what the servers do.
_SCRUBBED_ENV = (*SETTING_NAMES, "QUARTET_ADMIN_PASSWORD")


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment every suite server runs with (see the fixture docs in conftest.py)."""
    settings = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "CORS_ORIGINS": CORS_ORIGIN,
        "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
        "LOG_LEVEL": "warning",
        "ACCESS_LOG": "0",
        # Minimal-cost argon2id (same hash format): the suite creates hundreds of users, and at
        # production cost each one is two half-second hashes on a loaded 2-core machine.
        "PASSWORD_HASH_PROFILE": "test",
        # Every suite client signs in from 127.0.0.1: the per-address limit would otherwise
        # throttle the suite itself. The throttle's own tests start servers with low limits.
        "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
    }
    return base_env(**{**settings, **overrides})


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120.0, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `quartet ARGS` (as `python -m shared.cli`) and return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", *args],
        cwd=REPO_ROOT,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def cli_ok(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = cli(*args, env=env)
    if done.returncode != 0:
        raise RuntimeError(
            f"quartet {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
    return done


# -------------------------------------------------------------------- PostgreSQL


class PostgresCluster:
    """A PostgreSQL server the suite creates its databases on: an embedded throwaway cluster
    (one per session), or the server of QUARTET_TEST_DATABASE_URL."""

    def __init__(self, admin_url: str, *, data_dir: Path | None = None) -> None:
        self.admin_url = normalise(admin_url)
        self.data_dir = data_dir  # the embedded cluster's; None for QUARTET_TEST_DATABASE_URL
        self.embedded = data_dir is not None
        self._created: list[str] = []

    @classmethod
    def embedded_cluster(cls, data_dir: Path) -> PostgresCluster:
        from shared import embedded_pg

        url = embedded_pg.start(data_dir, cleanup="delete")
        with psycopg.connect(url, autocommit=True) as conn:
            # A throwaway cluster: durability buys nothing, speed does.
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = off").format(sql.Identifier(setting)))
            conn.execute("SELECT pg_reload_conf()")
        return cls(url, data_dir=data_dir)

    @classmethod
    def from_environment(cls, tmp_dir: Path) -> PostgresCluster:
        url = os.environ.get("QUARTET_TEST_DATABASE_URL")
        if url:
            return cls(url)
        return cls.embedded_cluster(tmp_dir / "pgdata")

    def create_database(self, prefix: str = "quartet_test") -> str:
        """A new, empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        return with_database(self.admin_url, name)

    def release(self) -> None:
        """Stop and delete the embedded cluster now (at the end of the session)."""
        if self.data_dir is not None:
            from shared import embedded_pg

            embedded_pg.release(self.data_dir)

    def drop_databases(self) -> None:
        """Drop what this session created (matters on an external server only)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self._created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self._created.clear()


def prepare_database(database_url: str) -> tuple[str, str]:
    """`quartet db migrate` and `quartet create-admin` on a database; the admin's credentials."""
    email = f"admin-{uuid.uuid4().hex[:12]}@example.com"
    password = f"admin-password-{uuid.uuid4().hex}"
    env = base_env(DATABASE_URL=database_url)
    cli_ok("db", "migrate", env=env)
    cli_ok(
        "create-admin",
        "--email",
        email,
        "--display-name",
        "Suite Admin",
        env={**env, "QUARTET_ADMIN_PASSWORD": password},
    )
    return email, password


# -------------------------------------------------------------------- servers


class ServerProcess(ServedProcess):
    """`quartet serve IMPL` on a free port of 127.0.0.1, output captured to a log file."""

    def __init__(
        self,
        impl: str,
        database_url: str,
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(
            f"quartet serve {impl}",
            server_env(database_url, **(env or {})),
            log_prefix=f"quartet-{impl}",
            port=port,
        )
        self.impl = impl
        self.database_url = database_url

    def start(self, *, wait: bool = True) -> ServerProcess:
        self.launch(
            [
                sys.executable,
                "-m",
                "shared.cli",
                "serve",
                self.impl,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=REPO_ROOT,
        )
        if wait:
            self.wait_healthy()
        return self

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    impl: str,
    database_url: str,
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
    wait: bool = True,
) -> ServerProcess:
    """Start `quartet serve IMPL` on `database_url` (stop it with `.stop()` or `with`)."""
    return ServerProcess(impl, database_url, env=env, port=port).start(wait=wait)


# -------------------------------------------------------------------- what tests see


@dataclass
class Server:
    """The `server` fixture's value: one implementation's running server (or a remote one)."""

    impl: str  # implementation name, or "remote" with --base-url
    base_url: str
    database_url: str | None  # None in --base-url mode
    admin_email: str
    admin_password: str
    process: ServerProcess | None = None
    _admin_token: str | None = field(default=None, repr=False)
    _admin_token_since: float = field(default=0.0, repr=False)  # time.monotonic() of its login

    @property
    def is_remote(self) -> bool:
        return self.process is None


class ServerPool:
    """One server per implementation per session, each on a fresh database, started lazily."""

    def __init__(self, cluster_factory: Callable[[], PostgresCluster]) -> None:
        self.cluster = cluster_factory  # the PostgresCluster, started on first call
        self._servers: dict[str, Server] = {}
        self._failures: dict[str, str] = {}

    def get(self, impl: str) -> Server:
        if impl in self._failures:  # one slow failure per implementation, not one per test
            raise ServerStartError(f"(failed earlier) {self._failures[impl]}")
        if impl not in self._servers:
            try:
                cluster = self.cluster()
                database_url = cluster.create_database(f"quartet_test_{impl}")
                email, password = prepare_database(database_url)
                process = start_server(impl, database_url)
            except Exception as exc:
                self._failures[impl] = str(exc)
                raise
            self._servers[impl] = Server(
                impl, process.base_url, database_url, email, password, process
            )
        return self._servers[impl]

    def stop_all(self) -> None:
        for server in self._servers.values():
            if server.process is not None:
                server.process.stop()
        self._servers.clear()
