"""Databases that are not there, for the "Unavailable" tests (contract/DECISIONS.md): a port that
accepts connections and never answers (a paused or overloaded server, a dropped route), and a
proxy to the real database that can be switched off — every connection through it broken and
new ones refused, as when PostgreSQL stops — and on again on the same port, as when it is back.
A closed port (nothing listening) needs no helper: `shared.processes.free_port()`.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from shared.pgproxy import CountingProxy


class Blackhole:
    """Listens on 127.0.0.1:<port>, accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closing = False
        self._thread = threading.Thread(target=self._accept, name="blackhole", daemon=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/quartet"

    def _accept(self) -> None:
        while not self._closing:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)  # kept open, never read, never answered

    def __enter__(self) -> Blackhole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        for sock in [self._listener, *self._held]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class SwitchableProxy(CountingProxy):
    """A proxy to the real database (`.url`) that `.switch_off()` takes away — listening socket
    closed, every open connection cut — and `.switch_on()` brings back on the same port;
    `.freeze()` pauses it instead (as `docker pause` would: connections stay open, nothing that
    is sent is answered, new connections are accepted and never greeted) until `.thaw()`."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self._flowing = threading.Event()
        self._flowing.set()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self.thaw()  # let the waiting connection threads run into the closed sockets and end
        super().close()

    def _seen(self, kind: bytes, payload: bytes) -> None:
        self._flowing.wait()  # each client message waits here while frozen
        super()._seen(kind, payload)

    def _startup(self, client: socket.socket) -> socket.socket | None:
        self._flowing.wait()
        return super()._startup(client)

    def switch_off(self) -> None:
        self._closing = True
        # shutdown() before close(): a thread blocked in accept() or recv() on a socket keeps it
        # alive through a bare close(), and the port would go on accepting.
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets.clear()

    def switch_on(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        self._closing = False
        self._thread = threading.Thread(target=self._accept_loop, name="pgproxy", daemon=True)
        self._thread.start()
