"""ContractJSONRenderer (orjson) writes exactly the bytes DRF's JSONRenderer writes under the
project's settings (compact, UTF-8, U+2028/U+2029 escaped), for every character a string can
hold and every kind of value a response carries. In memory: no database.

    .venv/bin/pytest impl_drf/tests/test_renderer.py
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import uuid
from collections import OrderedDict
from typing import Any

import pytest


@pytest.fixture(scope="module")
def renderers() -> tuple[Any, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "impl_drf.settings")
    import django

    django.setup()
    from rest_framework.renderers import JSONRenderer

    from impl_drf.negotiation import ContractJSONRenderer

    return JSONRenderer(), ContractJSONRenderer()


# Every character below U+0800 (controls, quotes, backslash, DEL, Latin...), the line and paragraph
# separators and their neighbours, a character outside the BMP.
TEXT = "".join(chr(c) for c in range(0x800)) + "\u2027\u2028\u2029\u202a\U0001f680\uffff"


def documents() -> list[Any]:
    from rest_framework.exceptions import ErrorDetail
    from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

    return [
        {"text": TEXT, TEXT: [TEXT[i : i + 7] for i in range(0, len(TEXT), 7)]},
        {"items": [], "next_cursor": None},
        [0, -1, 2**62, True, False, None, "", {}, [], [[{"a": [1]}]]],
        OrderedDict([("z", 1), ("a", 2)]),
        ReturnDict({"id": "x", "labels": ReturnList([{"n": 1}], serializer=None)}, serializer=None),
        {"detail": ErrorDetail("Not found.", code="not_found"), "status": 404},
        {"uuid": uuid.UUID(int=7), "decimal": decimal.Decimal("1.50")},
        {"at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC), "on": dt.date(2026, 1, 2)},
        {"naive": dt.datetime(2026, 1, 2, 3, 4, 5), "time": dt.time(1, 2, 3, 456000)},
        {"1": "int keys become strings", "nested": {"deep": {"er": [TEXT[:40]]}}},
    ]


def test_the_same_bytes_as_drf(renderers) -> None:
    drf, contract = renderers
    for document in documents():
        assert contract.render(document) == drf.render(document), document


def test_nothing_to_render_is_an_empty_body(renderers) -> None:
    drf, contract = renderers
    assert contract.render(None) == drf.render(None) == b""
