"""gunicorn's threaded worker, stopping to listen as soon as a graceful stop begins
(contract/DECISIONS.md, "Operations": SIGTERM).

On SIGTERM the stock gthread worker stops *accepting* but keeps its listening socket open until
its in-flight requests are done, so the kernel keeps completing TCP handshakes for clients that
will never be served. This worker closes its listeners when the stop begins — after accepting
what is already in their queues: a connection the kernel has completed is a client that sent its
request, and closing the listener would reset it. In-flight requests still finish within the
graceful timeout."""

from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker


class GracefulThreadWorker(ThreadWorker):
    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # the graceful stop has begun (handle_exit)
            self._close_listeners()

    def _close_listeners(self) -> None:
        for listener in self.sockets:
            # Non-blocking since accepting was enabled; accept() swallows EAGAIN.
            while select.select([listener], [], [], 0)[0]:
                before = self.nr_conns
                self.accept(listener)
                if self.nr_conns == before:
                    break
            listener.close()
