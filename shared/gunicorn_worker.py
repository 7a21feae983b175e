"""gunicorn's threaded worker, stopping to listen as soon as a graceful stop begins
(contract/DECISIONS.md, "Operations": SIGTERM).

On SIGTERM the stock gthread worker stops *accepting* but keeps its listening socket open until
its in-flight requests are done, so the kernel keeps completing TCP handshakes for clients that
will never be served. This worker closes its listeners when the stop begins — after accepting
what is already in their queues: a connection the kernel has completed is a client that sent its
request, and closing the listener would reset it. In-flight requests still finish within the
graceful timeout.

Endless ones are ended when the stop begins: the event streams of this worker
(shared.live.long_calls.graceful_stop, which closes the hub each implementation registered), so
that a SIGTERM does not wait out the graceful timeout for streams that would last until their
tokens expire; their clients reconnect elsewhere and resume with Last-Event-ID."""

from __future__ import annotations

import select

from gunicorn.workers.gthread import ThreadWorker

from shared.live.long_calls import graceful_stop


class GracefulThreadWorker(ThreadWorker):
    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # the graceful stop has begun (handle_exit)
            self._close_listeners()
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
