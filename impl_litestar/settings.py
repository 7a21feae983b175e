"""Settings: read from the environment once, by create_app() (shared.settings: the same names in
all four implementations), kept in the application's State, and reached one way — `app_settings`:
the `settings` dependency of handlers and providers (annotated `AppSettings`), and a plain call
where no dependency injection runs (middleware, the lifespan)."""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.params import Dependency

from shared.settings import Settings

STATE_KEY = "settings"

# Litestar validates every value a handler receives, dependencies included, with msgspec, which
# cannot convert a union of two custom types (`trusted_proxies`: IPv4Network | IPv6Network). The
# settings are built and checked once by shared.settings; nothing is left to validate.
AppSettings = Annotated[Settings, Dependency(skip_validation=True)]


def app_settings(state: State) -> Settings:
    settings: Settings = state[STATE_KEY]
    return settings
