"""The data set is the same row for row every time it is loaded, realistic in shape, and its
users log in at the production argon2 cost. On a real PostgreSQL: QUARTET_TEST_DATABASE_URL's
server, or a throwaway embedded one."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher, profiles
from psycopg import sql

from bench import dataset
from shared.database import with_database
from shared.migrate import migrate


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    external = os.environ.get("QUARTET_TEST_DATABASE_URL")
    if external:
        yield external
        return
    from shared import embedded_pg

    # not under pytest's 0700 tmp dirs: pgserver runs PostgreSQL as another user under root
    yield embedded_pg.start(
        Path(tempfile.mkdtemp(prefix="quartet-bench-test-pg-")), cleanup="delete"
    )


@pytest.fixture
def new_database(server_url: str) -> Iterator[object]:
    created: list[str] = []

    def create() -> str:
        name = f"quartet_bench_test_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return with_database(server_url, name)

    yield create
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_two_loads_are_equal_row_for_row(new_database) -> None:
    first, second = new_database(), new_database()
    loaded = dataset.load(first, dataset.SMALL)
    dataset.load(second, dataset.SMALL)
    assert dataset.fingerprint(first) == dataset.fingerprint(second)
    # and the ids the harness computes are the rows' ids
    hot = loaded.project("hot")
    with psycopg.connect(first) as conn:
        title = conn.execute(
            "SELECT title FROM tasks WHERE id = %s AND project_id = %s", (hot.task_id(5), hot.id)
        ).fetchone()
        assert title == ("Test the login flow #5",)
        counts = dict(
            conn.execute(
                "SELECT p.name, count(t.id) FROM projects p"
                " LEFT JOIN tasks t ON t.project_id = p.id"
                " GROUP BY p.name"
            ).fetchall()
        )
    spec = dataset.SMALL
    assert counts["Bench hot"] == spec.hot_tasks
    assert counts["Bench write"] == spec.write_tasks + dataset.CHECK_TASKS
    assert sorted(counts[f"Bench scale-{n}"] for n in spec.scale_tasks) == sorted(spec.scale_tasks)
    assert sum(counts.values()) == spec.total_tasks


def test_every_project_has_the_task_counts_the_implementations_read(new_database) -> None:
    """project_task_counts (migration 0002) agrees with the tasks, per project and status: the
    load runs without triggers where it may, so the counts are its own job."""
    url = new_database()
    dataset.load(url, dataset.SMALL)
    with psycopg.connect(url) as conn:
        kept = conn.execute(
            "SELECT p.id, c.todo, c.in_progress, c.done FROM projects p"
            " LEFT JOIN project_task_counts c ON c.project_id = p.id ORDER BY p.id"
        ).fetchall()
        counted = conn.execute(
            "SELECT p.id, count(t.id) FILTER (WHERE t.status = 'todo'),"
            " count(t.id) FILTER (WHERE t.status = 'in_progress'),"
            " count(t.id) FILTER (WHERE t.status = 'done')"
            " FROM projects p LEFT JOIN tasks t ON t.project_id = p.id GROUP BY p.id ORDER BY p.id"
        ).fetchall()
    assert kept == counted
    assert sum(todo + doing + done for _, todo, doing, done in kept) == dataset.SMALL.total_tasks


def test_a_loaded_data_set_looks_like_a_real_board(new_database) -> None:
    url = new_database()
    loaded = dataset.load(url, dataset.SMALL)
    with psycopg.connect(url) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM tasks GROUP BY status"))
        assert set(statuses) == {"todo", "in_progress", "done"}
        shares = conn.execute(
            "SELECT avg((assignee_id IS NULL)::int), avg((due_date IS NULL)::int),"
            " (SELECT count(*) FROM task_labels)::float / count(*),"
            " (SELECT count(*) FROM comments), (SELECT count(*) FROM activity)"
            " FROM tasks"
        ).fetchone()
        assert 0.2 < shares[0] < 0.3 and 0.35 < shares[1] < 0.45 and 1.0 < shares[2] < 2.0
        assert shares[3] > 0 and shares[4] > spec_total(loaded)
        # every assignee is a member of the task's project (the API's own rule)
        assert (
            conn.execute(
                "SELECT count(*) FROM tasks t WHERE assignee_id IS NOT NULL AND NOT EXISTS ("
                " SELECT 1 FROM project_members m WHERE m.project_id = t.project_id"
                " AND m.user_id = t.assignee_id)"
            ).fetchone()[0]
            == 0
        )
        roles = dict(
            conn.execute(
                "SELECT role, count(*) FROM project_members m WHERE user_id = %s GROUP BY role",
                (loaded.owner_id,),
            )
        )
        assert roles == {"owner": len(loaded.projects)}
        assert (
            conn.execute(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'tasks'"
                " AND last_analyze IS NULL AND last_autoanalyze IS NULL"
            ).fetchone()[0]
            == 0
        )
        # the indexes dropped for the load are back: every one the migrations create
        loaded_indexes = _indexes(conn)
    fresh = new_database()
    migrate(fresh)
    with psycopg.connect(fresh) as conn:
        assert loaded_indexes == _indexes(conn)
    pools = set(loaded.patch_pool()), set(loaded.comment_pool())
    assert len(pools[0]) == dataset.SMALL.patch_pool and not pools[0] & pools[1]
    assert loaded.check_task(0) not in pools[0] | pools[1]


def _indexes(conn: psycopg.Connection) -> set[tuple[str, str]]:
    return set(
        conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    )


def spec_total(loaded: dataset.Dataset) -> int:
    return loaded.spec.total_tasks


def test_every_user_logs_in_at_the_production_cost(new_database) -> None:
    url = new_database()
    dataset.load(url, dataset.SMALL)
    with psycopg.connect(url) as conn:
        hashes = {row[0] for row in conn.execute("SELECT password_hash FROM users")}
    assert len(hashes) == 1
    (stored,) = hashes
    hasher = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
    assert hasher.verify(stored, dataset.BENCH_PASSWORD)
    assert not hasher.check_needs_rehash(stored)  # no upgrade-on-login would skew `login`


def test_a_database_with_users_is_refused(new_database) -> None:
    url = new_database()
    dataset.load(url, dataset.SMALL)
    with pytest.raises(RuntimeError, match="empty database"):
        dataset.load(url, dataset.SMALL)
