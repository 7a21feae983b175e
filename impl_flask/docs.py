"""/docs offline (contract/DECISIONS.md, "Operations"): flask-smorest renders the Swagger UI page
at /docs (OPENAPI_SWAGGER_UI_URL points it at ASSETS_URL instead of a CDN, settings.py), and the
files it loads are served here from the drf-spectacular-sidecar wheel (shared.docs) — outside the
API document, like the page itself."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app
from flask_smorest import abort

from shared.docs import ASSETS_URL, asset

assets = Blueprint("docs_assets", __name__, url_prefix=ASSETS_URL.rstrip("/"))


@assets.get("/<name>")
def docs_asset(name: str) -> Response:
    found = asset(name)
    if found is None:  # only the Swagger UI files, nothing else from the directory
        abort(404)
    content, content_type = found
    return current_app.response_class(content, content_type=content_type)


def init_app(app: Flask) -> None:
    app.register_blueprint(assets)
