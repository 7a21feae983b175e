"""A PostgreSQL of a test's own that it can stop and start again (the session's shared cluster
must not go down under other tests): a throwaway pgserver cluster in a temporary directory."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

from shared.database import with_database


class OwnCluster:
    def __init__(self) -> None:
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver

        # Not under pytest's 0700 tmp dirs: as root, pgserver runs PostgreSQL as another user.
        self.directory = Path(tempfile.mkdtemp(prefix="quartet-outage-pg-"))
        self.directory.chmod(0o755)
        self._server = pgserver.get_server(self.directory / "pgdata", cleanup_mode="delete")
        self.admin_url = self._server.get_uri("postgres")

    def database_url(self, name: str) -> str:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return with_database(self.admin_url, name)

    def stop(self) -> None:
        """A fast shutdown, as a restart or a failover does it: sessions are cut."""
        from pgserver._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
            timeout=30,
        )

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def remove(self) -> None:
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
