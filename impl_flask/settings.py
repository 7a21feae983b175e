"""Flask and flask-smorest configuration, derived from the shared settings."""

from __future__ import annotations

from typing import Any

from shared.docs import ASSETS_URL
from shared.problems import MAX_BODY_BYTES
from shared.settings import Settings

API_PREFIX = "/api/v1"


def flask_config(settings: Settings) -> dict[str, Any]:
    return {
        # No SECRET_KEY: it signs Flask's cookie session, which a bearer-token API never uses;
        # without one Flask opens its null session instead of building a signing serializer
        # for every request (tokens are signed with the shared settings' key, shared.tokens).
        # Werkzeug enforces the limit on Content-Length and while reading chunked bodies.
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "MAX_FORM_MEMORY_SIZE": MAX_BODY_BYTES,  # default 500 kB would 413 a smaller body
        # OPTIONS is not an operation of the contract: 405 like any other unlisted method
        # (CORS preflights are answered by middleware.answer_preflight before routing matters).
        "PROVIDE_AUTOMATIC_OPTIONS": False,
        # flask-smorest: the document and the docs UI, at the contract's paths.
        "API_TITLE": "Taskboard",
        "API_VERSION": "1.2.0",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # The page loads its scripts and styles from the app itself (docs.py), not a CDN.
        "OPENAPI_SWAGGER_UI_URL": ASSETS_URL,
        "API_SPEC_OPTIONS": {
            "info": {
                "summary": "Projects, members, labels, tasks, comments, activity, live events, "
                "notifications and a project assistant.",
                "license": {"name": "MIT", "identifier": "MIT"},
            },
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {
                    "OAuth2PasswordBearer": {
                        "type": "oauth2",
                        "flows": {
                            "password": {"tokenUrl": f"{API_PREFIX}/auth/token", "scopes": {}}
                        },
                    },
                },
            },
            # Every operation needs a token unless it says `security: []` (token, probes).
            "security": [{"OAuth2PasswordBearer": []}],
        },
    }
