"""What can go wrong between the assistant and its upstream, as the contract answers it: one
exception type per status, each with the problem details every implementation sends (the texts
said once, here, so the four read alike).

Before the first byte of a response these are raised and the implementation's errors module
turns them into a problem response; after it, the relay sends the same problem as an
`event: error` frame instead. None of them carries the upstream's body, its URL or the API key:
`reason` is a short, safe phrase for the server's log only."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.problems import problem

NOT_CONFIGURED = "The assistant is not configured on this server."
UPSTREAM_FAILED = "The assistant's language model service failed to answer."
UPSTREAM_TIMEOUT = "The assistant's language model service did not answer in time."

# The contract's 503 response always carries Retry-After. A missing LLM_BASE_URL is an operator's
# decision, not a blip: a minute, not the second of the database's 503.
NOT_CONFIGURED_RETRY_AFTER_SECONDS = 60


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
        """Headers of the problem response besides its media type (Retry-After on 503)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class NotConfigured(AssistantError):
    """LLM_BASE_URL is not set: 503, decided before any work for the request."""

    status = 503
    detail = NOT_CONFIGURED
    retry_after = NOT_CONFIGURED_RETRY_AFTER_SECONDS


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
