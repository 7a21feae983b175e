"""Settings: read from the environment once, by create_app() (shared.settings: the same names in
all four implementations), kept in the application's State, and reached one way — `app_settings`:
the `settings` dependency of handlers and providers, and a plain call where no dependency
injection runs (middleware, the lifespan)."""

from __future__ import annotations

from litestar.datastructures import State

from shared.settings import Settings

STATE_KEY = "settings"


def app_settings(state: State) -> Settings:
    settings: Settings = state[STATE_KEY]
    return settings
