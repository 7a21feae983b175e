"""A tiny PostgreSQL wire-protocol proxy that counts the statements a server sends (used by the
contract suite's query budget and query plans, and by `quartet bench`'s statement counts).

It sits between one server under test and PostgreSQL, copies bytes both ways, and parses the
frontend (client → server) stream: the untyped startup packet (SSLRequest / GSSENCRequest are
answered 'N' by the proxy itself, so the session stays plain and parseable), then typed
messages. Every 'Q' (simple query) and 'E' (execute of the extended protocol) is one statement
the database runs; the proxy counts them and keeps the recent statement texts for reports.

`CapturingProxy` also keeps each statement with what it takes to run it again: the SQL, the
parameter type OIDs and the Bind's parameter formats and raw values (see its docstring); the
suite's query-plan test replays them under EXPLAIN.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

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
            session = self._new_session()
            threading.Thread(
                target=self._backend_loop, args=(upstream, client, session), daemon=True
            ).start()
            self._frontend_loop(client, upstream, session)
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

    # Hooks for subclasses that follow each connection's protocol state.

    def _new_session(self) -> object:
        return None

    def _frontend_message(self, session: object, kind: bytes, payload: bytes) -> None:
        pass

    def _backend_loop(
        self, upstream: socket.socket, client: socket.socket, session: object
    ) -> None:
        _copy(upstream, client)

    def _frontend_loop(
        self, client: socket.socket, upstream: socket.socket, session: object = None
    ) -> None:
        while True:
            header = _recv_exactly(client, 5)
            if header is None:
                return
            kind, length = header[:1], struct.unpack("!i", header[1:])[0]
            payload = _recv_exactly(client, length - 4) if length > 4 else b""
            if payload is None:
                return
            self._seen(kind, payload)
            self._frontend_message(session, kind, payload)
            upstream.sendall(header + payload)
            if kind == b"X":  # Terminate
                return


# -------------------------------------------------------------------- capturing for replay


@dataclass(frozen=True)
class Statement:
    """One statement a server ran, with what it takes to run it again exactly so: libpq's
    `pgconn.exec_params(sql, param_values, param_types, param_formats)` sends the values as raw
    as they came (binary or text, no decoding). A simple Query has its values inlined."""

    sql: str
    protocol: str  # "simple" (Query) or "extended" (Parse/Bind/Execute)
    param_types: tuple[int, ...] = ()
    param_formats: tuple[int, ...] = ()
    param_values: tuple[bytes | None, ...] = ()


@dataclass
class _Prepared:
    sql: str
    declared: tuple[int, ...]  # Parse's type OIDs (0 or absent: the server infers them)
    described: tuple[int, ...] = ()  # the server's ParameterDescription, when asked for

    def param_types(self, count: int) -> tuple[int, ...]:
        def pick(types: tuple[int, ...], i: int) -> int:
            return types[i] if i < len(types) else 0

        return tuple(pick(self.declared, i) or pick(self.described, i) for i in range(count))


@dataclass
class _Bound:
    statement: _Prepared
    formats: tuple[int, ...]
    values: tuple[bytes | None, ...]


@dataclass
class _Connection:
    """One client connection's protocol state."""

    statements: dict[bytes, _Prepared] = field(default_factory=dict)
    portals: dict[bytes, _Bound] = field(default_factory=dict)
    # What the backend will answer, in order: a ParameterDescription for each Describe of a
    # statement (its _Prepared), a ReadyForQuery for each Sync or Query (None). After an error
    # the backend skips to the Sync, so ReadyForQuery drops whatever it left unanswered.
    awaiting: deque[_Prepared | None] = field(default_factory=deque)


class CapturingProxy(CountingProxy):
    """A CountingProxy that also keeps every statement run, replayable (`take()`).

    Drivers say the same thing differently, and all three ways are followed per connection:
    asyncpg prepares named statements without types and learns them from the server's
    ParameterDescription (so the proxy also parses the backend stream for it), then binds binary
    values; psycopg 3 binds server-side, declaring types in Parse (0 where the server infers);
    Django's psycopg backend binds client-side and sends a simple Query with literals."""

    def __init__(self, database_url: str, *, keep: int = 10_000) -> None:
        super().__init__(database_url)
        self._runs: deque[tuple[_Prepared | None, str, _Bound | None]] = deque(maxlen=keep)

    def take(self) -> list[Statement]:
        """The statements run since the last take(), oldest first (and forget them)."""
        with self._lock:
            runs = list(self._runs)
            self._runs.clear()
        statements = []
        for prepared, sql, bound in runs:
            if prepared is None or bound is None:
                statements.append(Statement(sql, "simple"))
                continue
            count = len(bound.values)
            statements.append(
                Statement(sql, "extended", prepared.param_types(count), bound.formats, bound.values)
            )
        return statements

    def _new_session(self) -> _Connection:
        return _Connection()

    def _run(self, prepared: _Prepared | None, sql: str, bound: _Bound | None) -> None:
        with self._lock:
            self._runs.append((prepared, sql, bound))

    def _frontend_message(self, session: object, kind: bytes, payload: bytes) -> None:
        assert isinstance(session, _Connection)
        if kind == b"P":
            name, _, rest = payload.partition(b"\0")
            sql, _, rest = rest.partition(b"\0")
            (count,) = struct.unpack_from("!h", rest)
            types = struct.unpack_from(f"!{count}I", rest, 2)
            session.statements[name] = _Prepared(sql.decode("utf-8", "replace"), types)
        elif kind == b"B":
            portal, _, rest = payload.partition(b"\0")
            name, _, rest = rest.partition(b"\0")
            prepared = session.statements.get(name)
            if prepared is not None:
                session.portals[portal] = _parse_bind(prepared, rest)
        elif kind == b"D" and payload[:1] == b"S":
            name = payload[1:].rstrip(b"\0")
            # Unknown (prepared before the proxy saw it): still one answer to wait for.
            session.awaiting.append(session.statements.get(name) or _Prepared("", ()))
        elif kind == b"E":
            bound = session.portals.get(payload.partition(b"\0")[0])
            if bound is not None:
                self._run(bound.statement, bound.statement.sql, bound)
        elif kind == b"C":
            table = session.statements if payload[:1] == b"S" else session.portals
            table.pop(payload[1:].rstrip(b"\0"), None)
        elif kind == b"S":
            session.awaiting.append(None)
        elif kind == b"Q":
            self._run(None, payload.rstrip(b"\0").decode("utf-8", "replace"), None)
            session.awaiting.append(None)

    def _backend_message(self, session: _Connection, kind: bytes, payload: bytes) -> None:
        if kind == b"t":  # ParameterDescription: answers the oldest Describe of a statement
            (count,) = struct.unpack_from("!h", payload)
            if session.awaiting and session.awaiting[0] is not None:
                session.awaiting.popleft().described = struct.unpack_from(f"!{count}I", payload, 2)
        elif kind == b"Z":  # ReadyForQuery: everything up to its Sync is answered or skipped
            while session.awaiting and session.awaiting.popleft() is not None:
                pass

    def _backend_loop(
        self, upstream: socket.socket, client: socket.socket, session: object
    ) -> None:
        """Copies like _copy, but reads each complete message before passing the bytes on, so
        a statement's types are known before the client can bind it."""
        assert isinstance(session, _Connection)
        buffer = bytearray()
        try:
            while chunk := upstream.recv(65536):
                buffer += chunk
                start = 0
                while len(buffer) - start >= 5:
                    end = start + 1 + int.from_bytes(buffer[start + 1 : start + 5], "big")
                    if end > len(buffer):
                        break
                    kind = bytes(buffer[start : start + 1])
                    if kind in (b"t", b"Z"):
                        self._backend_message(session, kind, bytes(buffer[start + 5 : end]))
                    start = end
                del buffer[:start]
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)


def _parse_bind(prepared: _Prepared, rest: bytes) -> _Bound:
    """Bind after its portal and statement names: formats, then values (length -1: NULL)."""
    (format_count,) = struct.unpack_from("!h", rest)
    codes = struct.unpack_from(f"!{format_count}h", rest, 2)
    offset = 2 + 2 * format_count
    (count,) = struct.unpack_from("!h", rest, offset)
    offset += 2
    values: list[bytes | None] = []
    for _ in range(count):
        (length,) = struct.unpack_from("!i", rest, offset)
        offset += 4
        if length < 0:
            values.append(None)
        else:
            values.append(rest[offset : offset + length])
            offset += length
    # No codes: all text; one code: for every parameter; else one per parameter.
    formats = codes if format_count > 1 else (codes[0] if codes else 0,) * count
    return _Bound(prepared, tuple(formats), tuple(values))


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
