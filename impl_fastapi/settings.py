"""Settings as a dependency: the ones create_app() was given (shared.settings reads them from
the environment; the names are the same in all four implementations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.settings import Settings


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
