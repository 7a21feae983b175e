"""The four implementations and the production server each one runs under (`quartet serve IMPL`)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Implementation:
    name: str
    package: str
    server: str  # "uvicorn" (ASGI) or "gunicorn" (WSGI, threaded workers)
    target: str  # what the server loads: an app factory (uvicorn) or a WSGI callable (gunicorn)

    @property
    def is_built(self) -> bool:
        module = self.target.split(":", 1)[0]
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the package itself is absent
            return False


IMPLEMENTATIONS: dict[str, Implementation] = {
    impl.name: impl
    for impl in (
        Implementation("fastapi", "impl_fastapi", "uvicorn", "impl_fastapi.app:create_app"),
        Implementation("litestar", "impl_litestar", "uvicorn", "impl_litestar.app:create_app"),
        Implementation("flask", "impl_flask", "gunicorn", "impl_flask.app:create_app()"),
        Implementation("drf", "impl_drf", "gunicorn", "impl_drf.wsgi:application"),
    )
}


def built() -> list[str]:
    return [name for name, impl in IMPLEMENTATIONS.items() if impl.is_built]


class UnknownImplementation(ValueError):
    pass


def resolve(name: str) -> Implementation:
    """The implementation called `name`, if it exists and is built; else a one-line reason."""
    impl = IMPLEMENTATIONS.get(name)
    if impl is None:
        raise UnknownImplementation(
            f"unknown implementation {name!r} (choose from {', '.join(IMPLEMENTATIONS)})"
        )
    if not impl.is_built:
        raise UnknownImplementation(
            f"implementation {name!r} is not built yet (built: {', '.join(built()) or 'none'})"
        )
    return impl
