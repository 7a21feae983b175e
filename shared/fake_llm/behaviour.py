"""How the fake upstream misbehaves, and what it remembers of each request."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Mode(enum.StrEnum):
    OK = "ok"  # answers
    ERROR = "error"  # an OpenAI-style error JSON with status 500 (or the one asked for)
    HANG = "hang"  # never sends the response headers
    STALL = "stall"  # sends the headers and `after` tokens, then nothing; the connection stays


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What the next request(s) get. `times`: that many requests, then back to ok; None: every
    request until the behaviour is changed."""

    mode: Mode = Mode.OK
    after: int = 0
    status: int = 500
    times: int | None = None

    def __post_init__(self) -> None:
        if self.after < 0:
            raise ValueError(f"after must be at least 0, got {self.after}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"an error status must be 400-599, got {self.status}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1 (or None: until changed), got {self.times}")

    @classmethod
    def ok(cls) -> Behaviour:
        return cls()

    @classmethod
    def error(cls, status: int = 500, *, times: int | None = None) -> Behaviour:
        return cls(Mode.ERROR, status=status, times=times)

    @classmethod
    def hang(cls, *, times: int | None = None) -> Behaviour:
        return cls(Mode.HANG, times=times)

    @classmethod
    def stall(cls, after: int = 0, *, times: int | None = None) -> Behaviour:
        return cls(Mode.STALL, after=after, times=times)


class Outcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"  # the whole response was sent
    CANCELLED = "cancelled"  # the client went away before the end
    SHUTDOWN = "shutdown"  # the fake was stopped before the end


@dataclass(slots=True)
class RequestRecord:
    """One request as the fake saw it (the fake hands out copies). Times are `time.monotonic()`
    of the fake's process. The API key is never kept: only whether an `Authorization: Bearer`
    header carried one."""

    seq: int
    method: str
    path: str
    has_api_key: bool
    received_at: float
    body: Any = None  # the parsed JSON body (None when it was not JSON)
    mode: Mode = Mode.OK
    stream: bool = False
    status: int | None = None  # None until the response headers are sent
    answer: str = ""  # the whole planned answer, also when fewer tokens were sent
    tokens_sent: int = 0
    outcome: Outcome = Outcome.IN_PROGRESS
    cancelled_at: float | None = None  # when the fake saw the client go away
    ended_at: float | None = None

    @property
    def cancelled(self) -> bool:
        return self.outcome is Outcome.CANCELLED

    @property
    def completed(self) -> bool:
        return self.outcome is Outcome.COMPLETED

    def summary(self) -> dict[str, Any]:
        """JSON-ready, without the body: what `GET /_fake/records` lists."""
        body = self.body if isinstance(self.body, dict) else {}
        return {
            "seq": self.seq,
            "path": self.path,
            "model": body.get("model"),
            "mode": str(self.mode),
            "stream": self.stream,
            "status": self.status,
            "has_api_key": self.has_api_key,
            "tokens_sent": self.tokens_sent,
            "outcome": str(self.outcome),
            "cancelled_after_seconds": _since(self.received_at, self.cancelled_at),
            "duration_seconds": _since(self.received_at, self.ended_at),
        }


def _since(start: float, end: float | None) -> float | None:
    return None if end is None else round(end - start, 4)
