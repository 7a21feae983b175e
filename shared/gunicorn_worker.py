"""gunicorn's threaded worker, stopping to listen as soon as a graceful stop begins
(contract/DECISIONS.md, "Operations": SIGTERM).

On SIGTERM the stock gthread worker stops *accepting* but keeps its listening socket open until
its in-flight requests are done, so the kernel keeps completing TCP handshakes for clients that
will never be served. This worker closes its listeners when the stop begins; in-flight requests
still finish within the graceful timeout."""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class GracefulThreadWorker(ThreadWorker):
    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        for listener in self.sockets:
            listener.close()  # the poller drops it; unregistering it later is a no-op
