"""Streaming responses that hold something until they end — an event subscription, an upstream
request — and must let go of it however they end.

Litestar cancels a streaming body when the client goes away, possibly before the body's
iterator has even started, and then no `finally` inside that iterator runs. So the release is
tied to the ASGI response itself: `Released` wraps it in a try/finally."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.response import Stream
from litestar.types import Receive, Scope, Send

Release = Callable[[], Awaitable[None] | None]


class _Released:
    """The ASGI response, then `release`, whatever happened in between."""

    __slots__ = ("release", "response")

    def __init__(self, response: Any, release: Release) -> None:
        self.response = response
        self.release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.response(scope, receive, send)
        finally:
            result = self.release()
            if inspect.isawaitable(result):
                await result


class ReleasedStream(Stream):
    """`Stream` that calls `release` once its response has ended, however it ended."""

    def __init__(self, content: Any, *, release: Release, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.release = release

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        return _Released(super().to_asgi_response(*args, **kwargs), self.release)
