"""The profile's breakdown by layer, from py-spy's collapsed stacks."""

from __future__ import annotations

import pytest

from bench.profile import breakdown, layer_of

SITE = "/work/.venv/lib/python3.12/site-packages"


def frame(function: str, path: str, line: int = 1) -> str:
    return f"{function} ({path}:{line})"


def test_the_innermost_frame_of_a_known_layer_takes_the_sample() -> None:
    orm_calling_uuid = [
        frame("run", f"{SITE}/uvicorn/server.py"),
        frame("list_tasks", "/work/impl_fastapi/services/tasks.py"),
        frame("_instance", f"{SITE}/sqlalchemy/orm/loading.py"),
        frame("__str__", "/usr/lib/python3.12/uuid.py"),
    ]
    assert layer_of(orm_calling_uuid) == "ORM"
    assert layer_of(orm_calling_uuid[:2]) == "application code"
    assert layer_of([frame("verify", f"{SITE}/argon2/_password_hasher.py")]) == "password hashing"
    assert layer_of([frame("main", "<frozen runpy>")]).startswith("other")


def test_shares_add_up_and_come_largest_first() -> None:
    collapsed = "\n".join(
        [
            f"process 1;{frame('f', f'{SITE}/pydantic/main.py')} 30",
            f"process 1;{frame('g', f'{SITE}/sqlalchemy/engine/base.py')} 60",
            f"process 1;{frame('h', f'{SITE}/asyncpg/connection.py')} 10",
            "garbage line",
        ]
    )
    shares = breakdown(collapsed)
    assert list(shares) == ["ORM", "validation & serialization", "database driver"]
    assert shares["ORM"] == pytest.approx(0.6)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert breakdown("") == {}


def test_profile_md_opens_with_the_implementations_side_by_side() -> None:
    from bench.profile import render

    profiles = [
        {"target": "fastapi", "scenario": "get-task", "breakdown": {"ORM": 0.5, "framework": 0.5}},
        {"target": "drf", "scenario": "get-task", "breakdown": {"ORM": 0.25, "server": 0.75}},
        {"target": "flask", "scenario": "get-task", "error": "py-spy missing"},
    ]
    for entry in profiles[:2]:
        entry["flamegraph"] = f"profile-{entry['target']}.svg"
    text = render(profiles)
    assert "| layer | fastapi | drf |" in text  # the failed profile has no column
    assert "| ORM | 50% | 25% |" in text and "| server | 0% | 75% |" in text
    assert text.index("| layer | fastapi | drf |") < text.index("## fastapi")
    assert "Not profiled: py-spy missing" in text
