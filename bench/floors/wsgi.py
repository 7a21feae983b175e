"""The WSGI floor: a bare WSGI callable over a psycopg 3 pool (gunicorn gthread serves it)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from bench.floors.logic import Blocking, Handler, Reply, Request, handle
from shared.database import normalise

POOL_SIZE = 10  # the Flask implementation's steady pool size (gunicorn runs 8 threads)
_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=256)
def psycopg_sql(sql: str) -> tuple[str, tuple[int, ...]]:
    """asyncpg's `$n` placeholders as psycopg's `%s`, and which argument goes where."""
    order: list[int] = []

    def replace(match: re.Match[str]) -> str:
        order.append(int(match.group(1)) - 1)
        return "%s"

    return _PLACEHOLDER.sub(replace, sql.replace("%", "%%")), tuple(order)


def run(handler: Handler, pool: ConnectionPool) -> Reply:
    with pool.connection() as conn:
        result: Any = None
        while True:
            try:
                step = handler.send(result)
            except StopIteration as done:
                return done.value
            if isinstance(step, Blocking):
                result = step.function(*step.args)
                continue
            sql, order = psycopg_sql(step.sql)
            cursor = conn.execute(sql, [step.args[index] for index in order])
            if step.mode == "all":
                result = cursor.fetchall()
            elif step.mode == "one":
                result = cursor.fetchone()
            else:
                result = None


def _reason(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


class FloorApp:
    def __init__(self, database_url: str) -> None:
        # Opened in the worker (gunicorn imports the app after forking: no preload).
        self.pool = ConnectionPool(
            normalise(database_url),
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=True,
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        request = Request(
            environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), headers, body
        )
        reply = run(handle(request), self.pool)
        body_bytes = reply.body or b""
        start_response(
            _reason(reply.status), [*reply.headers, ("content-length", str(len(body_bytes)))]
        )
        return [body_bytes]


def create_app() -> FloorApp:
    return FloorApp(os.environ["DATABASE_URL"])


__all__ = ["FloorApp", "create_app", "psycopg_sql", "run"]
