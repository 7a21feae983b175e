"""Settings from the environment, the same names in all four implementations (README "Settings")."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from shared.throttle import Network, parse_networks

DEV_SECRET_KEY = "quartet-development-secret-key-do-not-use-in-production"

# "standard": argon2id at RFC 9106's low-memory parameters. "test": argon2id at minimal cost, for
# test suites that create hundreds of users (the hash format is the same, so hashes made under
# either profile verify everywhere). Like Django's fast test hashers, never for production.
PASSWORD_HASH_PROFILES = ("standard", "test")


# Every environment variable the servers read: load_settings() below, shared.serve (LOG_LEVEL,
# ACCESS_LOG, GUNICORN_THREADS) and `quartet serve` (WEB_CONCURRENCY). docker-compose.yml passes
# exactly these and the suite scrubs them from its servers' environment (tests/test_compose.py
# keeps this list, the code and the compose file in step).
SETTING_NAMES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "QUARTET_ENV",
    "CORS_ORIGINS",
    "ACCESS_TOKEN_TTL_SECONDS",
    "PASSWORD_HASH_PROFILE",
    "TRUSTED_PROXIES",
    "LOGIN_THROTTLE_WINDOW_SECONDS",
    "LOGIN_MAX_FAILURES_PER_PAIR",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "LLM_API_KEY",
    "LLM_TIMEOUT_SECONDS",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_WEBHOOK_SECRET",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "LOG_LEVEL",
    "ACCESS_LOG",
)


# The Standard Webhooks secret format: `whsec_` + base64 of 24 to 64 random bytes.
WEBHOOK_SECRET_PREFIX = "whsec_"
WEBHOOK_SECRET_BYTES = (24, 64)


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


# gunicorn's gthread workers (Flask, DRF): GUNICORN_THREADS threads per worker process. A long
# call — an event stream, an assistant call — holds its thread for seconds to hours, so each
# worker admits at most threads − RESERVED_THREADS of them at once and answers 503 past that
# (shared.live.long_calls): RESERVED_THREADS threads always remain for ordinary requests.
DEFAULT_GUNICORN_THREADS = 8
RESERVED_THREADS = 2


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    secret_key: str
    cors_origins: tuple[str, ...]
    access_token_ttl_seconds: int
    llm_base_url: str | None
    llm_model: str
    llm_api_key: str | None
    llm_timeout_seconds: float
    notify_webhook_url: str | None
    environment: str
    password_hash_profile: str
    trusted_proxies: tuple[Network, ...] = ()
    login_throttle_window_seconds: int = 900
    login_max_failures_per_pair: int = 10
    login_max_failures_per_address: int = 100
    notify_webhook_secret: str | None = None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def check(self) -> None:
        """Refuse a configuration that must never serve traffic."""
        if self.is_production and self.secret_key == DEV_SECRET_KEY:
            raise SettingsError(
                "SECRET_KEY is the development default; set a secret of your own in production"
            )
        if self.password_hash_profile not in PASSWORD_HASH_PROFILES:
            raise SettingsError(
                f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}"
            )
        if self.is_production and self.password_hash_profile != "standard":
            raise SettingsError("PASSWORD_HASH_PROFILE=test is for test suites, not production")
        if len(self.secret_key.encode()) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 bytes (HS256 key length)")
        self._check_webhook()
        self._check_llm()

    def _check_webhook(self) -> None:
        """A webhook URL is http(s), and every delivery to it is signed: no URL without its
        secret (Standard Webhooks: `whsec_` + base64 of 24-64 bytes)."""
        if self.notify_webhook_url is not None and not self.notify_webhook_url.startswith(
            ("http://", "https://")
        ):
            raise SettingsError("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
        if self.notify_webhook_secret is not None:
            webhook_secret_bytes(self.notify_webhook_secret)
        elif self.notify_webhook_url is not None:
            raise SettingsError(
                "NOTIFY_WEBHOOK_URL is set but NOTIFY_WEBHOOK_SECRET is not: every delivery is "
                "signed (whsec_ + base64 of 24-64 random bytes)"
            )

    def _check_llm(self) -> None:
        """The assistant's upstream is an http(s) URL with a host, or every call would be a 502.
        The message never repeats the value: it may carry credentials."""
        if self.llm_base_url is not None:
            parts = urlsplit(self.llm_base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SettingsError(
                    "LLM_BASE_URL must be an http:// or https:// URL with a host "
                    "(e.g. http://127.0.0.1:8100/v1, as `quartet fake-llm` prints)"
                )

    def check_listen(self, host: str) -> None:
        """The development key only on loopback (contract/DECISIONS.md, "Secrets")."""
        if self.secret_key == DEV_SECRET_KEY and not is_loopback(host):
            raise SettingsError(
                f"SECRET_KEY is not set: without it the server listens on loopback only "
                f"(asked for --host {host})"
            )


def webhook_secret_bytes(secret: str) -> bytes:
    """The key of a `whsec_...` secret; SettingsError naming NOTIFY_WEBHOOK_SECRET otherwise."""
    shortest, longest = WEBHOOK_SECRET_BYTES
    problem = (
        f"NOTIFY_WEBHOOK_SECRET must be {WEBHOOK_SECRET_PREFIX} followed by the base64 of "
        f"{shortest}-{longest} random bytes (e.g. {WEBHOOK_SECRET_PREFIX} and the output of "
        "`openssl rand -base64 32`)"
    )
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise SettingsError(problem)
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(problem) from None
    if not shortest <= len(key) <= longest:
        raise SettingsError(problem)
    return key


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _networks(name: str) -> tuple[Network, ...]:
    try:
        return parse_networks(os.environ.get(name, ""))
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def load_settings() -> Settings:
    origins = os.environ.get("CORS_ORIGINS", "")
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        secret_key=os.environ.get("SECRET_KEY") or DEV_SECRET_KEY,
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        access_token_ttl_seconds=_int("ACCESS_TOKEN_TTL_SECONDS", 1800),
        llm_base_url=os.environ.get("LLM_BASE_URL") or None,
        llm_model=os.environ.get("LLM_MODEL") or "quartet-fake",
        llm_api_key=os.environ.get("LLM_API_KEY") or None,
        llm_timeout_seconds=_float("LLM_TIMEOUT_SECONDS", 30.0),
        notify_webhook_url=os.environ.get("NOTIFY_WEBHOOK_URL") or None,
        environment=(os.environ.get("QUARTET_ENV") or "development").strip().lower(),
        password_hash_profile=(os.environ.get("PASSWORD_HASH_PROFILE") or "standard").strip(),
        trusted_proxies=_networks("TRUSTED_PROXIES"),
        login_throttle_window_seconds=_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900),
        login_max_failures_per_pair=_int("LOGIN_MAX_FAILURES_PER_PAIR", 10),
        login_max_failures_per_address=_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 100),
        notify_webhook_secret=os.environ.get("NOTIFY_WEBHOOK_SECRET") or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once and checked."""
    settings = load_settings()
    settings.check()
    return settings


def gunicorn_threads() -> int:
    """GUNICORN_THREADS: threads per gunicorn worker (shared.serve), an integer >= 1."""
    return _int("GUNICORN_THREADS", DEFAULT_GUNICORN_THREADS)


def long_calls_per_worker() -> int:
    """Long calls (event streams, assistant calls) one gthread worker serves at once: its threads
    less RESERVED_THREADS, never negative (with 2 threads or fewer, every long call is refused
    rather than letting one starve the worker's ordinary requests)."""
    return max(0, gunicorn_threads() - RESERVED_THREADS)
