"""DATABASE_URL in the spellings each driver wants. The URL is libpq's: `postgresql://...`,
a Unix socket directory as `?host=/path`."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit


def normalise(url: str) -> str:
    """`postgres://` and driver-qualified schemes back to plain `postgresql://`."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.split("+")[0] in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return "postgresql://" + rest


def sqlalchemy_url(url: str, driver: str) -> str:
    """E.g. driver='asyncpg' → `postgresql+asyncpg://...`."""
    return normalise(url).replace("postgresql://", f"postgresql+{driver}://", 1)


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
