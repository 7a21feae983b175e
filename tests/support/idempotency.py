"""Idempotent creates on the wire (contract/DECISIONS.md "Idempotent creates"): the header names
and the replay assertion, spelled from the contract."""

from __future__ import annotations

import uuid

import httpx

from support.responses import expect

KEY = "Idempotency-Key"
KEY_LOC = ("header", "idempotency-key")
REPLAYED = "Idempotent-Replayed"


def new_key() -> str:
    """A key no earlier request used."""
    return f"retry-{uuid.uuid4()}"


def assert_replay(first: httpx.Response, replay: httpx.Response) -> None:
    """`replay` is `first` again: status, body bytes, Location and ETag, plus
    `Idempotent-Replayed: true` and `Content-Type: application/json`."""
    expect(replay, first.status_code)
    assert replay.headers.get_list(REPLAYED) == ["true"], replay.headers
    assert replay.content == first.content, "a replay is the first response's exact bytes"
    assert replay.headers.get("content-type", "").split(";")[0] == "application/json"
    assert replay.headers.get_list("location") == first.headers.get_list("location")
    assert replay.headers.get_list("etag") == first.headers.get_list("etag")


def is_replay(response: httpx.Response) -> bool:
    return REPLAYED.lower() in response.headers
