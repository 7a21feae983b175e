"""The physical floors: the scenarios' SQL and JSON with no framework and no ORM.

`asgi` (uvicorn + asyncpg + orjson) and `wsgi` (gunicorn gthread + psycopg 3 + orjson) run the one
request logic of `logic.py` under the same production server settings as the implementations
(`shared.serve`): what the hardware, the server and the driver cost for the same work."""

from __future__ import annotations

from shared.implementations import Implementation

FLOORS: dict[str, Implementation] = {
    floor.name: floor
    for floor in (
        Implementation("floor-asgi", "bench.floors", "uvicorn", "bench.floors.asgi:create_app"),
        Implementation("floor-wsgi", "bench.floors", "gunicorn", "bench.floors.wsgi:create_app()"),
    )
}
