"""An httpx client that holds every response it receives to the contract.

There is no opt-out: a test that wants to look at a non-conforming response cannot, because the
response never reaches it — `send()` raises AssertionError naming the operation, the status,
the violations (with JSON pointers) and a trimmed body. Streamed responses (`stream=True`) are
checked for status and headers when they arrive; their bodies are the caller's to read.

An event stream (`text/event-stream`, contract 1.2) read as a whole — `client.get(...)` rather
than `client.stream(...)` — is read until it ends (an assistant answer does) but no longer than
the client's timeout: an endless one (streamProjectEvents) fails the test with a message that
says so, instead of hanging it (its heartbeats would keep every read alive).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from support.contract import EVENT_STREAM, Contract, media_type, trim

DEFAULT_TIMEOUT = 30.0


class ContractViolation(AssertionError):
    """A response that does not conform to contract/openapi.yaml."""


class ContractClient(httpx.Client):
    def __init__(
        self,
        base_url: str,
        *,
        contract: Contract | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        super().__init__(base_url=base_url, timeout=timeout, headers=headers, **kwargs)
        self.contract = contract or Contract.load()
        self.token = token
        self._children: list[ContractClient] = []

    def authed(self, token: str) -> ContractClient:
        """A client for the same server that sends `Authorization: Bearer <token>`."""
        child = ContractClient(
            str(self.base_url), contract=self.contract, token=token, timeout=self.timeout
        )
        self._children.append(child)
        return child

    def anonymous(self) -> ContractClient:
        """A client for the same server without credentials."""
        child = ContractClient(str(self.base_url), contract=self.contract, timeout=self.timeout)
        self._children.append(child)
        return child

    def close(self) -> None:
        for child in self._children:
            child.close()
        self._children.clear()
        super().close()

    def send(
        self, request: httpx.Request, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        response = super().send(request, stream=True, **kwargs)
        if not stream:
            try:
                if media_type(response.headers.get("content-type")) == EVENT_STREAM:
                    self._read_stream_whole(response)
                else:
                    response.read()
            except BaseException:
                response.close()
                raise
        self.check(response, body_read=not stream)
        return response

    def _read_stream_whole(self, response: httpx.Response) -> None:
        patience = self.timeout.read or DEFAULT_TIMEOUT
        deadline = time.monotonic() + patience
        chunks = []
        try:
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{response.request.method} {response.request.url.path} answered an "
                        f"event stream that was still open after {patience} s: read "
                        f"it with client.stream(...). So far: "
                        f"{trim(b''.join(chunks).decode('utf-8', 'replace'), 300)}"
                    )
        finally:
            response.close()
        response._content = b"".join(chunks)  # what httpx's own Response.read() sets

    def check(self, response: httpx.Response, *, body_read: bool = True) -> None:
        request = response.request
        where, violations = self.contract.violations(
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            headers=response.headers,
            body=response.content if body_read else b"",
            body_read=body_read,
        )
        if violations:
            raise ContractViolation(describe(where, response, violations, body_read))


def describe(
    where: str, response: httpx.Response, violations: list[str], body_read: bool = True
) -> str:
    request = response.request
    lines = [
        f"response violates the contract: {request.method} {request.url} → {response.status_code}",
        f"  matched: {where}",
    ]
    lines += [f"  - {v}" for v in violations]
    if body_read:
        body = response.content.decode("utf-8", "replace")
        lines.append(f"  content-type: {response.headers.get('content-type')!r}")
        lines.append(f"  body: {trim(body) if body else '(empty)'}")
    if not isinstance(request.stream, httpx.ByteStream):  # a sent stream cannot be read again
        lines.append("  request body: (streamed, chunked)")
    elif request.content:
        lines.append(f"  request body: {trim(request.content.decode('utf-8', 'replace'), 300)}")
    return "\n".join(lines)
