"""The event stream's `?access_token=` never reaches a server's access log (contract 1.2: a
browser EventSource sends its token in the query, and access logs print request lines whole)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from shared.logredact import REDACTED, redact
from support.servers import Server, start_server


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "/api/v1/projects/p/events?access_token=abc.def",
            f"/api/v1/projects/p/events?access_token={REDACTED}",
        ),
        (
            "/e?last_event_id=3&access_token=abc&x=1",
            f"/e?last_event_id=3&access_token={REDACTED}&x=1",
        ),
        ("/e?ACCESS_TOKEN=abc", f"/e?ACCESS_TOKEN={REDACTED}"),
        ("/e?access%5Ftoken=abc", f"/e?access%5Ftoken={REDACTED}"),
        ("/e?access_token=a&access_token=b", f"/e?access_token={REDACTED}&access_token={REDACTED}"),
        ("GET /e?access_token=abc HTTP/1.1", f"GET /e?access_token={REDACTED} HTTP/1.1"),
        ("access_token=abc", f"access_token={REDACTED}"),  # gunicorn's %(q)s: the bare query
        ("/e?my_access_token=abc", "/e?my_access_token=abc"),  # another parameter
        ("/e?q=access_token=abc", "/e?q=access_token=abc"),  # a value, not a parameter
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_an_access_token_in_the_query_is_not_logged(server: Server) -> None:
    if server.is_remote or server.database_url is None:
        pytest.skip("reads the log of a server the suite starts")
    secret, encoded_secret = f"sekrit-{uuid.uuid4().hex}", f"encoded-{uuid.uuid4().hex}"
    process = start_server(
        server.impl, server.database_url, env={"ACCESS_LOG": "1", "LOG_LEVEL": "info"}
    )
    try:
        events = f"/api/v1/projects/{uuid.uuid4()}/events"
        with httpx.Client(base_url=process.base_url, timeout=10) as client:
            assert client.get(events, params={"access_token": secret}).status_code == 401
            assert client.get(f"/healthz?access%5Ftoken={encoded_secret}").status_code == 200
        deadline = time.monotonic() + 10  # access lines are written after the response
        log = ""
        while time.monotonic() < deadline:
            log = process.log_path.read_text(errors="replace")
            if log.count(REDACTED) >= 2:
                break
            time.sleep(0.1)
        assert log.count(REDACTED) >= 2, process.log_tail()
        assert secret not in log
        assert encoded_secret not in log
    finally:
        process.stop()
