"""A local webhook receiver for the suite (issue 16): a threaded HTTP server in the test process
that servers started with NOTIFY_WEBHOOK_URL pointing at it deliver to.

Each request is recorded (headers, exact body bytes, arrival time, the status answered). What
it answers is planned per task (`plan(task_id, Answer(500), Answer(204))`: the n-th delivery
attempt of that task's notification gets the n-th answer, the last one repeating; unplanned:
204), so tests sharing one receiver do not disturb each other. Signatures are checked by the
`standardwebhooks` package, never by code of ours."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

# The receiver's secret, in the Standard Webhooks format (`whsec_` + base64 of 32 bytes).
SECRET = "whsec_" + base64.b64encode(b"quartet-suite-webhook-secret-32b").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"not-the-secret-the-server-has-32").decode()


@dataclass(frozen=True)
class Answer:
    status: int = 204
    delay: float = 0.0  # seconds to wait before answering
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Delivery:
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() when the request had arrived whole
    answered: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def task_id(self) -> str | None:
        try:
            return self.payload["data"]["task_id"]
        except (ValueError, KeyError, TypeError):
            return None

    def verified(self, secret: str = SECRET) -> Any:
        """The payload, if the signature holds for `secret` (standardwebhooks raises if not)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    _plans: dict[str, list[Answer]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def plan(self, task_id: str, *answers: Answer) -> None:
        with self._lock:
            self._plans[task_id] = list(answers)

    def _answer_for(self, delivery: Delivery) -> Answer:
        with self._lock:
            plan = self._plans.get(delivery.task_id or "", [Answer()])
            earlier = sum(
                1
                for d in self.deliveries
                if d.webhook_id == delivery.webhook_id and d is not delivery
            )
            return plan[min(earlier, len(plan) - 1)]

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
        with self._arrived:
            self._arrived.notify_all()

    def of_task(self, task_id: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.task_id == task_id]

    def wait_for(self, task_id: str, count: int, timeout: float) -> list[Delivery]:
        """At least `count` deliveries of the task's notification, within `timeout` seconds
        (all of them: a test then checks there are exactly as many as it expects)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(got := self.of_task(task_id)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(got)} of {count} deliveries for task {task_id} within {timeout} s"
                    )
                self._arrived.wait(min(left, 0.5))
        return got


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1 for the `with` block."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            delivery = Delivery(
                {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
            )
            answer = receiver._answer_for(delivery)
            delivery.answered = answer.status
            receiver._record(delivery)
            if answer.delay:
                time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="webhook-receiver")
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/quartet"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def webhook_env(receiver: Receiver) -> dict[str, str]:
    """The settings of a server that delivers to `receiver`."""
    return {"NOTIFY_WEBHOOK_URL": receiver.url, "NOTIFY_WEBHOOK_SECRET": SECRET}
