"""A tiny PostgreSQL wire-protocol proxy that counts the statements a server sends (used by the
contract suite's query budget and by `quartet bench`'s statement counts).

It sits between one server under test and PostgreSQL, copies bytes both ways, and parses the
frontend (client → server) stream: the untyped startup packet (SSLRequest / GSSENCRequest are
answered 'N' by the proxy itself, so the session stays plain and parseable), then typed
messages. Every 'Q' (simple query) and 'E' (execute of the extended protocol) is one statement
the database runs; the proxy counts them and keeps the recent statement texts for reports.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass

from shared.database import connection_parts

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


@dataclass(frozen=True)
class Upstream:
    unix_path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        parts = connection_parts(url)
        port = int(parts["port"] or 5432)
        if not parts["host"] or parts["host"].startswith("/"):
            directory = parts["host"] or "/var/run/postgresql"
            return cls(unix_path=f"{directory}/.s.PGSQL.{port}")
        return cls(host=parts["host"], port=port)

    def connect(self) -> socket.socket:
        if self.unix_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.unix_path)
            return sock
        return socket.create_connection((self.host, self.port))


class CountingProxy:
    """Listens on 127.0.0.1:<port>; `.count` is the number of statements seen so far."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.upstream = Upstream.from_url(database_url)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._count = 0
        self._last_activity = time.monotonic()
        self.recent: deque[str] = deque(maxlen=200)
        self._closing = False
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept_loop, name="pgproxy", daemon=True)

    @property
    def url(self) -> str:
        """DATABASE_URL for a server that should go through the proxy (no sslmode: the proxy
        answers SSLRequest with 'N' itself; test_operations checks libpq parameters apart)."""
        parts = connection_parts(self.database_url)
        user = parts["user"] or "postgres"
        password = f":{parts['password']}" if parts["password"] else ""
        return f"postgresql://{user}{password}@127.0.0.1:{self.port}/{parts['dbname']}"

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- counting

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def settle(self, quiet: float = 0.06, timeout: float = 3.0) -> None:
        """Wait until no message has passed for `quiet` seconds (work after the response)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = time.monotonic() - self._last_activity
            if idle >= quiet:
                return
            time.sleep(quiet / 3)

    def _seen(self, kind: bytes, payload: bytes) -> None:
        with self._lock:
            self._last_activity = time.monotonic()
            if kind == b"Q":
                self._count += 1
                self.recent.append("Q " + payload.rstrip(b"\0").decode("utf-8", "replace"))
            elif kind == b"E":
                self._count += 1
                self.recent.append("E (execute)")
            elif kind == b"P":  # Parse: not a statement run, but shows what the next E runs
                _, _, rest = payload.partition(b"\0")
                self.recent.append("P " + rest.split(b"\0", 1)[0].decode("utf-8", "replace"))

    # ---------------------------------------------------------------- plumbing

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            upstream = self._startup(client)
            if upstream is None:
                return
            self._sockets += [client, upstream]
            threading.Thread(target=_copy, args=(upstream, client), daemon=True).start()
            self._frontend_loop(client, upstream)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _startup(self, client: socket.socket) -> socket.socket | None:
        while True:
            header = _recv_exactly(client, 8)
            if header is None:
                return None
            length, code = struct.unpack("!ii", header)
            rest = _recv_exactly(client, length - 8) if length > 8 else b""
            if rest is None:
                return None
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                client.sendall(b"N")  # no encryption: the stream stays readable
                continue
            upstream = self.upstream.connect()
            upstream.sendall(header + rest)
            if code == CANCEL_REQUEST:
                return None
            return upstream

    def _frontend_loop(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            header = _recv_exactly(client, 5)
            if header is None:
                return
            kind, length = header[:1], struct.unpack("!i", header[1:])[0]
            payload = _recv_exactly(client, length - 4) if length > 4 else b""
            if payload is None:
                return
            self._seen(kind, payload)
            upstream.sendall(header + payload)
            if kind == b"X":  # Terminate
                return


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
