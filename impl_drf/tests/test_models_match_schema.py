"""Every Django model of impl_drf matches its live table (shared/migrations owns the schema; the
models are `managed = False`, so nothing else would notice a drift).

Uses DATABASE_URL when set; otherwise starts the embedded PostgreSQL in a temporary directory,
creates a database and applies shared/'s migrations to it.

    .venv/bin/pytest impl_drf/tests/test_models_match_schema.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from shared import embedded_pg

# Django types (as `db_type()` spells them) → information_schema.columns.data_type.
PG_TYPES = {
    "uuid": "uuid",
    "text": "text",
    "boolean": "boolean",
    "timestamp with time zone": "timestamp with time zone",
    "date": "date",
    "integer": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "jsonb": "jsonb",
}


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh, migrated database (shared.embedded_pg.throwaway_database)."""
    with embedded_pg.throwaway_database(
        "drf_models", os.environ.get("QUARTET_TEST_DATABASE_URL")
    ) as url:
        yield url


@pytest.fixture(scope="module")
def django_models(database_url: str) -> list:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")
    from shared.settings import get_settings

    get_settings.cache_clear()  # settings.py reads DATABASE_URL through it
    import django
    from django.apps import apps

    django.setup()
    return list(apps.get_app_config("taskboard").get_models())


@pytest.fixture(scope="module")
def live_columns(database_url: str) -> dict[str, dict[str, tuple[str, bool]]]:
    """{table: {column: (data_type, is_nullable)}} of the public schema."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES'"
            " FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
    tables: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, data_type, nullable in rows:
        tables.setdefault(table, {})[column] = (data_type, nullable)
    return tables


# Tables only SQL functions read and write — migration 0004's (idempotency_begin/_finish,
# sign_in_*) and 0006's webhook outbox (notify_task_assigned, webhook_claim/_record, read by the
# webhook worker and `quartet webhooks`): impl_drf calls the functions (impl_drf.idempotency,
# impl_drf.throttling, impl_drf.services.auth, impl_drf.services.tasks) and never touches these
# tables through the ORM, so they have no model.
FUNCTION_OWNED_TABLES = {"idempotency_keys", "sign_in_failures", "webhook_deliveries"}


def test_every_table_has_a_model(django_models: list, live_columns: dict) -> None:
    modelled = {model._meta.db_table for model in django_models}
    assert set(live_columns) - {"schema_migrations"} - FUNCTION_OWNED_TABLES == modelled


def test_no_model_is_managed_by_django(django_models: list) -> None:
    assert [m.__name__ for m in django_models if m._meta.managed] == []


def test_models_match_live_tables(django_models: list, live_columns: dict) -> None:
    from django.db import connection

    problems = []
    for model in django_models:
        table = model._meta.db_table
        live = live_columns.get(table)
        if live is None:
            problems.append(f"{model.__name__}: table {table} does not exist")
            continue
        fields = [f for f in model._meta.concrete_fields if f.column is not None]
        columns = {f.column: f for f in fields}
        for column in sorted(set(live) - set(columns)):
            problems.append(f"{table}.{column}: no field in {model.__name__}")
        for column, field in columns.items():
            if column not in live:
                problems.append(f"{model.__name__}.{field.name}: no column {table}.{column}")
                continue
            data_type, nullable = live[column]
            expected = PG_TYPES.get(field.db_type(connection) or "")
            if field.is_relation:
                expected = PG_TYPES.get(field.target_field.db_type(connection))
            if expected != data_type:
                problems.append(
                    f"{table}.{column}: column is {data_type}, "
                    f"{model.__name__}.{field.name} maps to {expected}"
                )
            if field.null != nullable:
                problems.append(
                    f"{table}.{column}: column nullable={nullable}, "
                    f"{model.__name__}.{field.name} null={field.null}"
                )
    assert problems == []


def test_primary_keys_match(django_models: list, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.key_column_usage kcu USING (constraint_schema,"
            " constraint_name) WHERE tc.constraint_type = 'PRIMARY KEY'"
            " AND tc.table_schema = 'public'"
        ).fetchall()
    live: dict[str, set[str]] = {}
    for table, column in rows:
        live.setdefault(table, set()).add(column)
    for model in django_models:
        assert {f.column for f in model._meta.pk_fields} == live[model._meta.db_table], (
            model.__name__
        )


def test_a_round_trip_through_every_model(django_models: list) -> None:
    """Inserts through the ORM leave generated values to the database and read them back; the
    task counts the database keeps (migration 0002) read through their model."""
    from django.db import transaction

    from impl_drf.models import Activity, Label, Project, ProjectMember, Task, User
    from shared.vocabulary import ActivityTargetType, ActivityVerb, Role, TaskPriority

    with transaction.atomic():
        user = User.objects.create(
            email="model-test@example.com", display_name="Model Test", password_hash="x"
        )
        project = Project.objects.create(name="p", created_by=user)
        ProjectMember.objects.create(project=project, user=user, role=Role.OWNER)
        label = Label.objects.create(project=project, name="l", color="#000000")
        task = Task.objects.create(
            project=project, title="t", created_by=user, priority=TaskPriority.URGENT
        )
        task.labels.set([label])
        entry = Activity.objects.create(
            project=project,
            actor=user,
            verb=ActivityVerb.TASK_CREATED,
            target_type=ActivityTargetType.TASK,
            target_id=task.id,
        )
        assert user.id and user.created_at and project.version == 1
        assert task.priority_rank is None or task.priority_rank == 3
        assert Task.objects.get(pk=task.pk).priority_rank == 3
        assert Task.objects.get(pk=task.pk).priority == "urgent"
        assert entry.seq > 0 and entry.changes == {}
        assert Activity.objects.get(pk=entry.pk).verb == "task.created"
        assert list(task.labels.all()) == [label]
        counts = Project.objects.select_related("task_counts").get(pk=project.pk).task_counts
        assert (counts.todo, counts.in_progress, counts.done) == (1, 0, 0)
        transaction.set_rollback(True)
