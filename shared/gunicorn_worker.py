"""gunicorn's threaded worker, stopping to listen as soon as a graceful stop begins
(contract/DECISIONS.md, "Operations": SIGTERM).

On SIGTERM the stock gthread worker stops *accepting* but keeps its listening socket open until
its in-flight requests are done, so the kernel keeps completing TCP handshakes for clients that
will never be served. This worker closes its listeners when the stop begins — after accepting
what is already in their queues: a connection the kernel has completed is a client that sent its
request, and closing the listener would reset it. In-flight requests still finish within the
graceful timeout.

Requests that never end by themselves — event streams — would hold that stop for the whole
graceful timeout (30 s): `on_graceful_stop` callbacks, registered by the app in its worker
process, run as the stop begins, after the listeners close and before in-flight requests are
waited for (e.g. the event hub's `close()`, which ends every open stream; clients reconnect to
another worker and resume with Last-Event-ID)."""

from __future__ import annotations

import logging
import select
from collections.abc import Callable

from gunicorn.workers.gthread import ThreadWorker

# Both registries until live-flask and live-drf agree on one (merge in tests-16).
from shared.live.long_calls import graceful_stop

log = logging.getLogger("quartet.server")

_on_graceful_stop: list[Callable[[], None]] = []


def on_graceful_stop(callback: Callable[[], None]) -> None:
    """Run `callback` in this worker process when its graceful stop begins (SIGTERM). Outside
    gunicorn (tests, another server) it is never called."""
    _on_graceful_stop.append(callback)


class GracefulThreadWorker(ThreadWorker):
    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # the graceful stop has begun (handle_exit)
            self._close_listeners()
            self._run_stop_callbacks()
            graceful_stop()

    def _close_listeners(self) -> None:
        for listener in self.sockets:
            # Non-blocking since accepting was enabled; accept() swallows EAGAIN.
            while select.select([listener], [], [], 0)[0]:
                before = self.nr_conns
                self.accept(listener)
                if self.nr_conns == before:
                    break
            listener.close()

    def _run_stop_callbacks(self) -> None:
        while _on_graceful_stop:
            callback = _on_graceful_stop.pop(0)
            try:
                callback()
            except Exception:  # one failing must not keep the others (or the stop) from running
                log.exception("graceful stop callback %r failed", callback)
