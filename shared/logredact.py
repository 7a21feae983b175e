"""Keep credentials out of the servers' access logs.

A browser `EventSource` cannot send headers, so streamProjectEvents takes the bearer token as
`?access_token=` (contract 1.2), and uvicorn's and gunicorn's access logs print request lines
whole: every stream opened would write a live token to the log. Both servers' access lines go
through `redact()` instead (uvicorn: a logging filter on its access handler; gunicorn: a logger
class whose atoms are redacted)."""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[redacted]"
# The parameter's name percent-encoded or not; its value up to the next parameter or the end.
_CREDENTIAL = re.compile(r"((?:^|[?&;])access(?:_|%5[Ff])token=)[^&;\s#]*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` (a path with its query, a query string or a request line) with the value of every
    `access_token` parameter replaced."""
    return _CREDENTIAL.sub(rf"\1{REDACTED}", text)


class RedactAccessLog(logging.Filter):
    """uvicorn's access records carry the path with its query as the third argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on its access handler (a dict, so
    every worker process applies it, `--workers` included)."""
    from uvicorn.config import LOGGING_CONFIG

    config = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in LOGGING_CONFIG.items()
    }
    config["filters"] = {"redact_access_log": {"()": f"{__name__}.RedactAccessLog"}}
    config["handlers"] = {
        name: dict(handler) for name, handler in LOGGING_CONFIG["handlers"].items()
    }
    config["handlers"]["access"]["filters"] = ["redact_access_log"]
    return config


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with the request line, the raw URI and the query string redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
