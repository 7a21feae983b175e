"""A real PostgreSQL the project starts and stops itself when DATABASE_URL is unset.

It is the server bundled in the `pgserver` wheel (PostgreSQL 16), so a machine with only Python
needs nothing else. The cluster lives in a per-user data directory and listens on a Unix socket
inside it; the process that started it stops it on exit."""

from __future__ import annotations

import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import psycopg
from psycopg import sql

from shared.database import with_database

DEFAULT_DATABASE = "quartet"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("quartet")) / "pgdata"


def start(data_dir: Path | None = None, *, cleanup: str = "stop") -> str:
    """Start (or join) the embedded server; return a URL of its `postgres` database.

    cleanup: 'stop' stops the server when the last process using it exits; 'delete' also removes
    the data directory (throwaway clusters for tests)."""
    # pgserver keeps its lock file in the user runtime dir, which it looks up on import; without
    # XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID and warns. The fallback is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import pgserver  # imported late: only needed when no DATABASE_URL is given

    path = data_dir or default_data_dir()
    path.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(path, cleanup_mode=cleanup)
    return server.get_uri("postgres")


def ensure_database(server_url: str, name: str = DEFAULT_DATABASE) -> str:
    """Create database `name` on the server if missing; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def release(data_dir: Path) -> None:
    """Give up this process's hold on the embedded server now, so its cleanup ('stop' or
    'delete') happens when the caller is done rather than at interpreter exit — which some
    process runners skip (pytest-xdist's workers end without running atexit handlers, and every
    run left a PostgreSQL behind)."""
    from pgserver.postgres_server import PostgresServer

    server = PostgresServer._instances.get(data_dir.expanduser().resolve())
    if server is not None:
        server.cleanup()


@contextmanager
def throwaway_database(prefix: str, server_url: str | None = None) -> Iterator[str]:
    """A fresh, migrated database for tests that run an app in-process: on `server_url` when
    given (the tests pass QUARTET_TEST_DATABASE_URL, as the contract suite uses it), else on a
    throwaway embedded cluster released on exit. Never the developer's DATABASE_URL."""
    from shared.migrate import migrate

    data_dir = None
    if not server_url:
        # Not pytest's tmp_path: under root, pgserver runs PostgreSQL as another user, who
        # cannot enter pytest's private temp directories.
        data_dir = Path(tempfile.mkdtemp(prefix=f"quartet-{prefix}-"))
        server_url = start(data_dir, cleanup="delete")
    url = ensure_database(server_url, f"{prefix}_{uuid.uuid4().hex[:8]}")
    migrate(url)
    try:
        yield url
    finally:
        if data_dir is not None:
            release(data_dir)  # now: pytest-xdist's workers never run atexit
