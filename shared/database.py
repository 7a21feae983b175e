"""DATABASE_URL in the spellings each driver wants. The URL is libpq's: `postgresql://...`,
a Unix socket directory as `?host=/path`."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

# One budget for every implementation, so a benchmark or a fault test compares frameworks, not
# configurations (contract/DECISIONS.md, "Database budgets"). Per server process.
POOL_SIZE = 10  # connections at most; scale out with processes, not with a bigger pool
POOL_TIMEOUT_SECONDS = 5.0  # waiting for a free connection longer is a 503
CONNECT_TIMEOUT_SECONDS = 5  # opening a connection
STATEMENT_TIMEOUT_SECONDS = 5.0  # one statement, lock waits included: past it, a 503
IDLE_IN_TRANSACTION_TIMEOUT_SECONDS = 30.0  # the server ends a transaction a process abandoned
READINESS_TIMEOUT_SECONDS = 2.0  # /readyz answers within this, whatever the database does


def session_settings() -> dict[str, str]:
    """The PostgreSQL settings every connection of every implementation runs with."""
    return {
        "statement_timeout": f"{int(STATEMENT_TIMEOUT_SECONDS * 1000)}",
        "idle_in_transaction_session_timeout": f"{int(IDLE_IN_TRANSACTION_TIMEOUT_SECONDS * 1000)}",
    }


def libpq_options() -> str:
    """`session_settings()` as libpq's `options` connection parameter (psycopg)."""
    return " ".join(f"-c {name}={value}" for name, value in session_settings().items())


def normalise(url: str) -> str:
    """`postgres://` and driver-qualified schemes back to plain `postgresql://`."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return "postgresql://" + rest


# libpq URL parameters asyncpg takes under another name; the rest of libpq's runtime parameters
# (application_name, options' GUCs, ...) are server settings to asyncpg.
_ASYNCPG_RENAMED = {"sslmode": "ssl"}
_ASYNCPG_KEPT = {
    "host",
    "port",
    "ssl",
    "user",
    "password",
    "database",
    "prepared_statement_cache_size",
}


def sqlalchemy_url(url: str, driver: str) -> str:
    """E.g. driver='asyncpg' → `postgresql+asyncpg://...`, with the query parameters that driver
    understands (see `sqlalchemy_connect_args` for the ones it takes separately)."""
    plain = normalise(url)
    if driver == "asyncpg":
        parts = urlsplit(plain)
        query = [
            (_ASYNCPG_RENAMED.get(key, key), value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        query = [(key, value) for key, value in query if key in _ASYNCPG_KEPT]
        plain = parts._replace(query=urlencode(query, safe="/")).geturl()
    return plain.replace("postgresql://", f"postgresql+{driver}://", 1)


def sqlalchemy_connect_args(url: str, driver: str) -> dict[str, object]:
    """`connect_args` for create_engine: libpq runtime parameters asyncpg takes as
    server_settings (application_name, ...). Empty for libpq-based drivers."""
    if driver != "asyncpg":
        return {}
    query = parse_qsl(urlsplit(normalise(url)).query, keep_blank_values=True)
    args: dict[str, object] = {}
    settings: dict[str, str] = {}
    for key, value in query:
        if key == "connect_timeout":  # asyncpg wants a number, and calls it `timeout`
            args["timeout"] = float(value)
        elif _ASYNCPG_RENAMED.get(key, key) not in _ASYNCPG_KEPT:
            settings[key] = value
    if settings:
        args["server_settings"] = settings
    return args


def connection_parts(url: str) -> dict[str, str]:
    """host, port, user, password, dbname — for configurations that want them apart (Django)."""
    parts = urlsplit(normalise(url))
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "",
        "port": str(query.get("port") or parts.port or ""),
        "user": unquote(parts.username or query.get("user", "")),
        "password": unquote(parts.password or query.get("password", "")),
        "dbname": parts.path.lstrip("/") or query.get("dbname", ""),
    }


def with_database(url: str, dbname: str) -> str:
    """The same server, another database."""
    parts = urlsplit(normalise(url))
    return parts._replace(path="/" + dbname).geturl()
