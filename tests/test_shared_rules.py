"""The framework-agnostic rules of contract 1.1 that all four implementations call from shared/
(contract/DECISIONS.md): representation ETags, hostile-input checks, the Idempotency-Key rules,
the client address behind trusted proxies, and the classification of database errors. The
behaviour on the wire is tested against every implementation elsewhere; these pin the rules
themselves, with the edge cases a wire test would need hundreds of requests for."""

from __future__ import annotations

import json
import uuid

import pytest

from shared import dberrors, idempotency, inputs, throttle
from shared.httputil import (
    canonical_json,
    if_match_fails,
    if_none_match_hits,
    representation_etag,
)

# ------------------------------------------------------------------------ ETags


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": ["é", None, True]}) == '{"a":["é",null,true],"b":1}'.encode()
    )


def test_representation_etag_is_the_hash_of_the_canonical_json() -> None:
    body = {"title": "Ünïcode", "version": 3, "labels": []}
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))
    tag = representation_etag(body)
    assert tag == representation_etag(reordered)
    assert len(tag) == 34 and tag.startswith('"') and tag.endswith('"')
    assert tag != representation_etag({**body, "version": 4})


@pytest.mark.parametrize(
    ("header", "fails"),
    [
        (None, False),
        ("*", False),
        ('"abc"', False),
        ('"x", "abc"', False),
        ('W/"abc"', True),
        ('"abd"', True),
        ("", True),
    ],
)
def test_if_match_is_strong(header: str | None, fails: bool) -> None:
    assert if_match_fails(header, '"abc"') is fails


@pytest.mark.parametrize(
    ("header", "hits"),
    [(None, False), ("*", True), ('W/"abc"', True), ('"x" , "abc"', True), ('"abd"', False)],
)
def test_if_none_match_is_weak(header: str | None, hits: bool) -> None:
    assert if_none_match_hits(header, '"abc"') is hits


# ------------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    "document",
    [
        '"\\ud800"',
        '"a\\udfffb"',
        '{"\\udc00": 1}',
        '["ok", {"k": "\\ud83d"}]',
        "[" * 33 + "]" * 33,
        '{"a":' * 33 + "1" + "}" * 33,
    ],
)
def test_malformed_documents_are_refused(document: str) -> None:
    with pytest.raises(inputs.MalformedDocument):
        inputs.check_document(json.loads(document))


@pytest.mark.parametrize(
    "document",
    ['"\\ud83d\\ude00"', "[" * 32 + "]" * 32, '{"a":' * 31 + "[1]" + "}" * 31, '"\\u0000"'],
)
def test_well_formed_documents_pass(document: str) -> None:
    inputs.check_document(json.loads(document))


def test_a_million_nested_brackets_are_refused_without_recursion() -> None:
    # Python's own decoder stops at its recursion limit; what it lets through is checked
    # iteratively, so the check itself never recurses.
    deep: object = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(inputs.MalformedDocument):
        inputs.check_document(deep)


def test_nul_locations_name_every_string_value_with_u0000() -> None:
    document = {"title": "a\x00b", "label_ids": ["ok", "\x00"], "nested": {"k\x00": "fine"}}
    assert inputs.nul_locations(document) == [["body", "label_ids", 1], ["body", "title"]]
    assert inputs.nul_locations("\x00") == [["body"]]
    assert inputs.nul_locations({"clean": ["x", 1, None]}) == []


def test_query_nul_locations_index_repeatable_parameters_only() -> None:
    pairs = [("status", "todo"), ("status", "do\x00ne"), ("q", "\x00"), ("other", "\x00")]
    found = inputs.query_nul_locations(pairs, {"status", "q"}, {"status"})
    assert found == [["query", "status", 1], ["query", "q"]]


@pytest.mark.parametrize(
    "text",
    [
        "{12345678-1234-1234-1234-123456789abc}",
        "urn:uuid:12345678-1234-1234-1234-123456789abc",
        "12345678123412341234123456789abc",
        "1234567-81234-1234-1234-123456789abc",
        "12345678-1234-1234-1234-123456789abc\n",
        " 12345678-1234-1234-1234-123456789abc",
        "",
    ],
)
def test_only_canonical_uuids_parse(text: str) -> None:
    assert inputs.parse_uuid(text) is None


def test_canonical_uuids_parse_in_either_case() -> None:
    value = uuid.uuid4()
    assert inputs.parse_uuid(str(value).upper()) == value == inputs.parse_uuid(str(value))


@pytest.mark.parametrize("text", ["٥", "５", "+5", " 5", "5 ", "5_0", "", "-", "0x10", "1e3"])
def test_only_ascii_integers_parse(text: str) -> None:
    assert inputs.parse_int(text) is None


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("20", 20), ("-3", -3), ("007", 7)])
def test_ascii_integers_parse(text: str, value: int) -> None:
    assert inputs.parse_int(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("True", None),
        ("1", None),
        ("yes", None),
        ("true\n", None),
    ],
)
def test_booleans_are_true_or_false(text: str, value: bool | None) -> None:
    assert inputs.parse_bool(text) is value


@pytest.mark.parametrize("text", ["#abcdef\n", "#abcdef ", "x#abcdef", "#abcdefa"])
def test_patterns_match_the_whole_string(text: str) -> None:
    assert not inputs.fullmatch(r"^#[0-9A-Fa-f]{6}$", text)
    assert inputs.fullmatch(r"^#[0-9A-Fa-f]{6}$", "#abcdef")


# ------------------------------------------------------------------------ idempotency


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "string_too_short"),
        ("x" * 256, "string_too_long"),
        ("naïve", "string_pattern_mismatch"),
        ("tab\there", "string_pattern_mismatch"),
        ("nul\x00", "string_pattern_mismatch"),
    ],
)
def test_idempotency_key_rules(value: str, error: str) -> None:
    found = idempotency.key_error(value)
    assert found is not None and found[0] == error


@pytest.mark.parametrize("value", ["k", "x" * 255, "retry 1 of create-task ~!@#$%^&*()"])
def test_good_idempotency_keys(value: str) -> None:
    assert idempotency.key_error(value) is None


def test_fingerprint_ignores_key_order_and_whitespace_but_not_values() -> None:
    first = idempotency.fingerprint("post", "/api/v1/projects", {"name": "a", "description": ""})
    same = idempotency.fingerprint("POST", "/api/v1/projects", {"description": "", "name": "a"})
    assert first == same
    assert first != idempotency.fingerprint("POST", "/api/v1/projects", {"name": "b"})
    assert first != idempotency.fingerprint(
        "POST", "/api/v1/users", {"name": "a", "description": ""}
    )


# ------------------------------------------------------------------------ client address

TRUSTED = throttle.parse_networks("10.0.0.0/8, 127.0.0.1, ::1")


@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        ("203.0.113.7", None, "203.0.113.7"),  # no proxy
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # an untrusted peer's header is ignored
        ("10.1.1.1", "198.51.100.1", "198.51.100.1"),  # one trusted proxy
        ("10.1.1.1", "1.1.1.1, 198.51.100.1, 10.2.2.2", "198.51.100.1"),  # proxy chain
        ("10.1.1.1", "spoofed, 198.51.100.1", "198.51.100.1"),  # a client's own entry: left
        ("10.1.1.1", "not-an-ip", "10.1.1.1"),  # garbage: stop believing
        ("::ffff:10.1.1.1", "198.51.100.1", "198.51.100.1"),  # IPv4 on a dual-stack socket
        ("10.1.1.1", "10.2.2.2, 10.3.3.3", "10.2.2.2"),  # all trusted: the left-most seen
    ],
)
def test_client_address_behind_trusted_proxies(
    peer: str, forwarded: str | None, address: str
) -> None:
    assert throttle.client_address(peer, forwarded, TRUSTED) == address


@pytest.mark.parametrize(
    ("username", "key"),
    [
        ("Ada@Example.com", "ada@example.com"),  # counted as users are stored
        ("ada\x00@example.com", "ada\ufffd@example.com"),  # PostgreSQL text cannot hold U+0000
        ("\x00\x00", "\ufffd\ufffd"),
    ],
)
def test_sign_in_failures_are_counted_under_a_storable_key(username: str, key: str) -> None:
    assert throttle.sign_in_key(username) == key


def test_bad_trusted_proxies_are_named() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        throttle.parse_networks("10.0.0.0/8, nonsense")


# ------------------------------------------------------------------------ database errors


class _Sqlstate(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.sqlstate = state


@pytest.mark.parametrize("state", ["08006", "08001", "57014", "57P01", "57P03", "53300"])
def test_unavailable_sqlstates(state: str) -> None:
    wrapper = RuntimeError("wrapped")
    wrapper.__cause__ = _Sqlstate(state)
    assert dberrors.is_unavailable(wrapper)


@pytest.mark.parametrize("state", ["23505", "23503", "42601", "22P02"])
def test_other_sqlstates_are_not_unavailability(state: str) -> None:
    assert not dberrors.is_unavailable(_Sqlstate(state))


def test_connection_errors_are_unavailable() -> None:
    assert dberrors.is_unavailable(ConnectionRefusedError())
    assert dberrors.is_unavailable(TimeoutError())
    assert not dberrors.is_unavailable(ValueError("not a database error"))


def test_a_missing_unix_socket_raised_by_a_driver_is_unavailable() -> None:
    """An embedded (Unix-socket) PostgreSQL that is stopped: connect fails with ENOENT, which
    asyncpg lets through bare. An application's own missing file is not the database."""
    import asyncio

    import asyncpg

    async def connect() -> None:
        await asyncpg.connect(host="/nonexistent-quartet-socket-dir", timeout=2)

    try:
        asyncio.run(connect())
    except OSError as raised:
        assert dberrors.is_unavailable(raised)
    else:
        raise AssertionError("connected to nothing")
    assert not dberrors.is_unavailable(FileNotFoundError(2, "an application's own file"))
