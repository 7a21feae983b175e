"""The one versioned migration path of the shared schema (no per-framework migrations).

Migrations are the numbered SQL files in shared/migrations, each applied once, in order, in
its own transaction, recorded in `schema_migrations`. An advisory lock serialises concurrent
runs (several servers starting at once)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from shared.database import normalise

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x51_7A_27_E7  # arbitrary, constant: "quartet migrations"


def available() -> list[tuple[str, Path]]:
    return sorted((path.stem, path) for path in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(database_url: str) -> list[str]:
    """Apply pending migrations; return the versions applied."""
    applied_now: list[str] = []
    with psycopg.connect(normalise(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, path in available():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
