"""What can go wrong between the assistant and its upstream, as the contract answers it: one
exception type per status, each with the problem details every implementation sends (the texts
are shared.problems', so the four read alike).

Before the first byte of a response these are raised and the implementation's errors module
turns them into a problem response; after it, the relay sends the same problem as an
`event: error` frame instead. None of them carries the upstream's body, its URL or the API key:
`reason` is a short, safe phrase for the server's log only."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.problems import ASSISTANT_NOT_CONFIGURED, UPSTREAM_FAILED, UPSTREAM_TIMEOUT, problem

NOT_CONFIGURED = ASSISTANT_NOT_CONFIGURED


class AssistantError(Exception):
    """A problem to answer with `status` (before the first byte) or to send as an `event: error`
    frame (after it)."""

    status: ClassVar[int]
    detail: ClassVar[str]
    retry_after: ClassVar[int | None] = None

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or self.detail)
        self.reason = reason or self.detail

    def problem(self) -> dict[str, Any]:
        """The problem details: `{type, title, status, detail}` (contract/DECISIONS.md)."""
        return problem(self.status, self.detail)

    @property
    def headers(self) -> dict[str, str]:
        """Headers of the problem response besides its media type (none for these three: the
        contract's 503 for a missing LLM_BASE_URL has no Retry-After — asking again does not
        help until the server is configured)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class NotConfigured(AssistantError):
    """LLM_BASE_URL is not set: 503, decided before any work for the request."""

    status = 503
    detail = NOT_CONFIGURED


class UpstreamError(AssistantError):
    """The upstream answered non-2xx, could not be reached, broke the connection, or did not
    speak OpenAI's SSE/JSON: 502."""

    status = 502
    detail = UPSTREAM_FAILED


class UpstreamTimeout(AssistantError):
    """No status and first event (or no whole answer) within LLM_TIMEOUT_SECONDS, or a gap
    longer than that between two events of a stream: 504."""

    status = 504
    detail = UPSTREAM_TIMEOUT
