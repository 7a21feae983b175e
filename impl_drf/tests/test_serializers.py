"""Output serializers with a `to_representation` of their own (the hot read paths) render exactly
what their declared fields render through DRF (`ModelSerializer.to_representation`), for every
shape of resource. In memory: no database.

    .venv/bin/pytest impl_drf/tests/test_serializers.py
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import Any

import pytest


@pytest.fixture(scope="module")
def django_ready() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")
    import django

    django.setup()


def _user(n: int) -> Any:
    from impl_drf.models import User

    return User(
        id=uuid.uuid4(),
        email=f"user-{n}@example.com",
        display_name=f"Ünïcode “{n}” \u2028",
        password_hash="x",
        is_admin=n % 2 == 0,
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )


def _task(*, assignee: bool, labels: int, due: bool, offset_hours: int, micro: int) -> Any:
    from impl_drf.models import Task
    from impl_drf.selectors import LabelSummary

    project_id = uuid.uuid4()
    tz = dt.timezone(dt.timedelta(hours=offset_hours))
    task = Task(
        id=uuid.uuid4(),
        project_id=project_id,
        title="Ship it \U0001f680",
        description="" if labels else 'line\nbreak "quoted" \\ back',
        status="in_progress",
        priority="urgent",
        assignee=_user(1) if assignee else None,
        due_date=dt.date(2026, 12, 31) if due else None,
        created_by=_user(2),
        created_at=dt.datetime(2026, 3, 4, 5, 6, 7, micro, tzinfo=tz),
        updated_at=dt.datetime(2026, 3, 5, 23, 59, 59, 999999, tzinfo=tz),
        version=7,
    )
    task.comment_count = labels * 3
    task.ordered_labels = [  # as impl_drf.selectors.with_labels gives them
        LabelSummary(uuid.uuid4(), f"label {i}", "#A1B2C3") for i in range(labels)
    ]
    return task


SHAPES = [
    {"assignee": a, "labels": n, "due": d, "offset_hours": h, "micro": m}
    for a in (False, True)
    for n in (0, 1, 3)
    for d in (False, True)
    for h, m in ((0, 0), (-7, 123456))
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(f"{v}" for v in s.values()))
def test_task_representation_is_what_its_fields_render(django_ready, shape) -> None:
    from rest_framework.serializers import ModelSerializer

    from impl_drf.serializers import TaskSerializer

    task = _task(**shape)
    serializer = TaskSerializer(task)
    by_fields = ModelSerializer.to_representation(serializer, task)
    written_out = serializer.to_representation(task)
    assert list(written_out) == list(by_fields)  # the same keys in the same order
    assert written_out == dict(by_fields)
    assert TaskSerializer([task, task], many=True).data == [written_out, written_out]
