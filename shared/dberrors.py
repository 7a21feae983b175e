"""Which database errors mean "unavailable" (contract/DECISIONS.md, "Unavailable": a 503 with
`Retry-After: 1`), recognised the same way under asyncpg, psycopg, SQLAlchemy and Django.

Unavailable: the server cannot be reached or refuses connections, the connection broke
mid-request (a restart), no pooled connection came free in time, or a statement was cancelled
by `statement_timeout`. Anything else (a constraint, a syntax error) is not: the caller keeps
its own mapping (shared.integrity) or lets it be a 500."""

from __future__ import annotations

# SQLSTATE classes and codes: 08 connection exception; 57014 query_canceled (statement_timeout);
# 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now; 53300
# too_many_connections; 55P03 lock_not_available (lock_timeout).
_UNAVAILABLE_STATES = ("57014", "57P01", "57P02", "57P03", "53300", "55P03")

# Driver and pool exceptions that carry no SQLSTATE, by "module.Class" (no imports: each
# implementation has only some of these drivers loaded).
_UNAVAILABLE_TYPES = {
    "psycopg.OperationalError",
    "psycopg_pool.PoolTimeout",
    "psycopg_pool.TooManyRequests",
    "sqlalchemy.exc.TimeoutError",  # QueuePool: no connection within pool_timeout
    "asyncpg.exceptions.ConnectionDoesNotExistError",
    "asyncpg.exceptions._base.InterfaceError",
    "asyncpg.exceptions.ConnectionFailureError",
    "asyncpg.exceptions.CannotConnectNowError",
    "django.db.utils.OperationalError",
}


def _qualified_names(error: BaseException) -> set[str]:
    names = set()
    for cls in type(error).__mro__:
        module = cls.__module__
        names.add(f"{module}.{cls.__qualname__}")
        names.add(f"{module.split('.')[0]}.{cls.__qualname__}")
    return names


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


_DRIVER_MODULES = ("asyncpg", "psycopg", "psycopg_pool", "sqlalchemy", "django.db")


def _raised_by_a_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def is_unavailable(error: BaseException) -> bool:
    """True when `error`, or one it wraps, means the database is (for now) not there for us."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError)):  # OSError family, asyncio
            return True
        if isinstance(current, FileNotFoundError) and _raised_by_a_driver(current):
            # A Unix-socket server that is down: its socket file is gone (ENOENT on connect).
            # asyncpg lets it through bare; an application's own missing file stays a 500.
            return True
        state = _sqlstate(current)
        if state is not None and (state.startswith("08") or state in _UNAVAILABLE_STATES):
            return True
        if _qualified_names(current) & _UNAVAILABLE_TYPES:
            return True
        if getattr(current, "connection_invalidated", False):  # SQLAlchemy DBAPIError
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False
