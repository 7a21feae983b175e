"""Where the /docs page's Swagger UI files come from: the drf-spectacular-sidecar wheel (one pinned
Swagger UI for all four), served by each app itself under ASSETS_URL so /docs works offline
(contract/DECISIONS.md, "Operations"). Each framework renders its own page around them."""

from __future__ import annotations

from pathlib import Path

import drf_spectacular_sidecar

ASSETS_URL = "/docs/assets/"
ASSETS_DIR = (
    Path(drf_spectacular_sidecar.__file__).parent
    / "static"
    / "drf_spectacular_sidecar"
    / "swagger-ui-dist"
)

# The files a Swagger UI page loads, and nothing else from the directory (source maps, licences
# and the oauth2 redirect page are not served).
CONTENT_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
JS_URL = ASSETS_URL + "swagger-ui-bundle.js"
PRESET_JS_URL = ASSETS_URL + "swagger-ui-standalone-preset.js"
CSS_URL = ASSETS_URL + "swagger-ui.css"
FAVICON_URL = ASSETS_URL + "favicon-32x32.png"


def asset(name: str) -> tuple[bytes, str] | None:
    """The file's bytes and content type, or None for any name not in CONTENT_TYPES."""
    content_type = CONTENT_TYPES.get(name)
    if content_type is None:
        return None
    return (ASSETS_DIR / name).read_bytes(), content_type
