"""The ASGI floor: a bare ASGI callable over an asyncpg pool (uvicorn serves it)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import asyncpg

from bench.floors.logic import Blocking, Handler, Reply, Request, handle
from shared.database import normalise

POOL_SIZE = 10  # the FastAPI implementation's steady pool size


async def run(handler: Handler, pool: asyncpg.Pool) -> Reply:
    """Drive one request's handler: statements on one pooled connection, blocking calls in a
    thread (argon2 must not stall the event loop)."""
    async with pool.acquire() as conn:
        result: Any = None
        while True:
            try:
                step = handler.send(result)
            except StopIteration as done:
                return done.value
            if isinstance(step, Blocking):
                result = await asyncio.to_thread(step.function, *step.args)
            elif step.mode == "all":
                result = await conn.fetch(step.sql, *step.args)
            elif step.mode == "one":
                result = await conn.fetchrow(step.sql, *step.args)
            else:
                result = await conn.execute(step.sql, *step.args)


class FloorApp:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        request = Request(
            scope["method"],
            scope["path"],
            scope["query_string"].decode("latin-1"),
            headers,
            bytes(body),
        )
        assert self.pool is not None
        reply = await run(handle(request), self.pool)
        body_bytes = reply.body or b""
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [(name.encode(), value.encode()) for name, value in reply.headers]
                + [(b"content-length", str(len(body_bytes)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body_bytes})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = await asyncpg.create_pool(
                    normalise(self.database_url), min_size=1, max_size=POOL_SIZE
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app() -> FloorApp:
    return FloorApp(os.environ["DATABASE_URL"])


__all__ = ["FloorApp", "create_app", "run"]
