"""Settings as a dependency: the ones create_app() was given (shared.settings reads them from
the environment; the names are the same in all four implementations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.settings import Settings


async def app_settings(request: Request) -> Settings:
    # async def although it awaits nothing: FastAPI runs a plain `def` dependency in its
    # threadpool, a thread hop per request for an attribute read (so for every dependency here).
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
