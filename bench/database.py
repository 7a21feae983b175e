"""A fresh PostgreSQL database per bench session: on a throwaway embedded cluster, or on the
server of DATABASE_URL (a new database, dropped at the end), with pg_stat_statements when that
server can load it."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.servers import children, pin
from shared.database import normalise, with_database


@dataclass
class BenchDatabase:
    url: str  # the session's database
    admin_url: str  # the server's maintenance database
    embedded: bool
    name: str
    server_version: str = ""
    pg_stat_statements: bool = False
    pg_stat_statements_reason: str = ""
    pinned_cpus: list[int] | None = None
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls) -> BenchDatabase:
        external = os.environ.get("DATABASE_URL")
        if external:
            admin_url = normalise(external)
            embedded = False
        else:
            from shared import embedded_pg

            # Not under a 0700 directory: pgserver runs PostgreSQL as another user under root.
            data_dir = Path(tempfile.mkdtemp(prefix="quartet-bench-pg-"))
            admin_url = embedded_pg.start(data_dir, cleanup="delete")
            embedded = True
        name = f"quartet_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            # Commits do not wait for the WAL flush: the disk's latency is not the frameworks'
            # (the same for every server; durability buys a benchmark nothing).
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                    sql.Identifier(name)
                )
            )
            version = conn.execute("SHOW server_version").fetchone()[0]
        database = cls(with_database(admin_url, name), admin_url, embedded, name, version)
        database._detect_pg_stat_statements()
        return database

    def _detect_pg_stat_statements(self) -> None:
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                conn.execute("SELECT count(*) FROM pg_stat_statements")
            self.pg_stat_statements = True
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.pg_stat_statements_reason = first

    def pin(self, cpus: list[int]) -> bool:
        """Pin the PostgreSQL server (postmaster and every process it has forked; backends forked
        later inherit the postmaster's affinity) when it runs on this machine."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:
            stat = Path(f"/proc/{backend}/stat").read_text()
        except OSError:
            return False  # another machine, or another PID namespace
        postmaster = int(stat.rpartition(")")[2].split()[1])
        pin([postmaster, *children(postmaster)], cpus)
        self.pinned_cpus = cpus
        return True

    def read_settings(self) -> None:
        names = (
            "shared_buffers",
            "work_mem",
            "max_connections",
            "synchronous_commit",
            "fsync",
            "jit",
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in names:
                self.settings[name] = conn.execute(
                    sql.SQL("SHOW {}").format(sql.Identifier(name))
                ).fetchone()[0]

    # ---------------------------------------------------------------- pg_stat_statements

    def statements_reset(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")

    def statements_totals(self) -> tuple[int, float]:
        """Statements run in this database since the reset, and their execution time (ms),
        leaving out the harness's own look-ups."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            row: Any = conn.execute(
                "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0)"
                " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
                " WHERE datname = current_database())"
                " AND query NOT ILIKE '%pg_stat_statements%'"
            ).fetchone()
        return int(row[0]), float(row[1])

    def connections(self) -> int:
        """Connections to this database other than the asking one (the server's pool)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                " current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]

    def drop(self) -> None:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.admin_url, autocommit=True) as conn,
        ):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
