"""HTTP/1.1 spoken by hand over a socket, for clients that misbehave on purpose: requests that
stop half-way, bodies that trickle, connections closed before the answer."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


def connect(base_url: str, timeout: float = 10.0) -> socket.socket:
    parts = urlsplit(base_url)
    return socket.create_connection((parts.hostname, parts.port), timeout=timeout)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def abandon(base_url: str, data: bytes, *, linger: float = 0.0, reset: bool = False) -> None:
    """Send `data` (a request cut short anywhere) and go away: a FIN, or a RST with `reset`."""
    with connect(base_url) as sock:
        sock.sendall(data)
        if linger:
            time.sleep(linger)
        if reset:  # SO_LINGER 0: close() sends RST
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )


def read_status(sock: socket.socket) -> int:
    """The status code of the answer on `sock` (reads up to the end of the status line)."""
    buffer = b""
    while b"\r\n" not in buffer:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed before a status line: {buffer!r}")
        buffer += chunk
    return int(buffer.split(b" ", 2)[1])
