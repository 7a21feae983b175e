"""WSGI-level body handling shared by the two WSGI implementations (Flask, DRF).

Neither framework can see the end of a body sent without Content-Length (chunked): Django reads
no body at all, werkzeug stops reading at its limit without noticing that more is coming. And a
server that answers without reading an oversize body (the framework's 413, or the router's
404/405, which come first) closes a socket with unread data, so the client, still sending, gets
a reset connection instead of the answer."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from shared.problems import MAX_BODY_BYTES

BODY_TOO_LARGE_KEY = "quartet.body_too_large"
# A refused body is still read (and thrown away) up to this size so the client gets to read the
# 413; beyond it, resetting the connection is the cheaper defence.
_DISCARD_LIMIT = 16 * MAX_BODY_BYTES
_CHUNK = 64 * 1024


def _discard_body(environ: dict[str, Any]) -> None:
    """Read and drop what is left of a refused request body (declared length, capped)."""
    declared = environ.get("CONTENT_LENGTH") or ""
    remaining = min(int(declared), _DISCARD_LIMIT) if declared.isdigit() else 0
    stream = environ["wsgi.input"]
    while remaining > 0:
        data = stream.read(min(_CHUNK, remaining))
        if not data:
            break
        remaining -= len(data)


def body_too_large(environ: dict[str, Any]) -> bool:
    """Over MAX_BODY_BYTES, by Content-Length or as counted by RequestBodyGuard."""
    declared = environ.get("CONTENT_LENGTH") or ""
    return bool(environ.get(BODY_TOO_LARGE_KEY)) or (
        declared.isdigit() and int(declared) > MAX_BODY_BYTES
    )


class RequestBodyGuard:
    """WSGI middleware around the framework. A chunked body is read here, up to the limit, and
    handed on with its Content-Length; over the limit it is drained and marked, and the
    framework answers 413 (`body_too_large`). Whatever the framework answers to an oversize
    body, what is left of it is drained before the answer is sent."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            _buffer_chunked_body(environ)
        answer = self.application(environ, start_response)
        if body_too_large(environ):
            _discard_body(environ)
        return answer


def _buffer_chunked_body(environ: dict[str, Any]) -> None:
    stream = environ["wsgi.input"]
    body = bytearray()
    while len(body) <= MAX_BODY_BYTES:
        data = stream.read(_CHUNK)
        if not data:
            break
        body += data
    if len(body) > MAX_BODY_BYTES:
        remaining = _DISCARD_LIMIT
        while remaining > 0 and (data := stream.read(_CHUNK)):
            remaining -= len(data)
        environ[BODY_TOO_LARGE_KEY] = True
        body = bytearray()
    environ["wsgi.input"] = io.BytesIO(bytes(body))
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
