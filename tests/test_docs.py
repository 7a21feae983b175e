"""`/docs` works offline (contract 1.1; contract/DECISIONS.md "Operations"): the Swagger UI page
and every script, style sheet and icon it references come from the server itself — one pinned
Swagger UI for all four, the files of the `drf-spectacular-sidecar` wheel, under /docs/assets/ —
with the right media type and the headers of every response; the page loads /openapi.json,
which reports the contract's version."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import drf_spectacular_sidecar
import pytest

from support.client import ContractClient
from support.contract import Contract
from support.problems import assert_problem

ASSETS = "/docs/assets/"
# The pinned Swagger UI the assets must be (the wheel is a dependency of the project).
SWAGGER_UI_DIST = (
    Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
) / "swagger-ui-dist"
# Media type by extension: nosniff makes browsers refuse a script or style sheet served as
# anything else.
MEDIA_TYPES = {
    ".js": {"text/javascript", "application/javascript"},
    ".css": {"text/css"},
    ".png": {"image/png"},
}


class References(HTMLParser):
    """The URLs a page makes the browser load: scripts, style sheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.icons: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"])
        elif tag == "link" and values.get("href"):
            rel = set(values.get("rel", "").lower().split())
            if "stylesheet" in rel:
                self.styles.append(values["href"])
            elif rel & {"icon", "shortcut", "apple-touch-icon"}:
                self.icons.append(values["href"])
            elif rel & {"preload", "modulepreload", "prefetch", "manifest"}:
                self.other.append(values["href"])
        elif tag in ("img", "iframe", "source", "embed") and values.get("src"):
            self.other.append(values["src"])

    @property
    def all(self) -> list[str]:
        return [*self.scripts, *self.styles, *self.icons, *self.other]


@pytest.fixture
def page(api: ContractClient) -> str:
    response = api.get("/docs")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].split(";")[0].strip() == "text/html"
    return response.text


@pytest.fixture
def references(page: str) -> References:
    parser = References()
    parser.feed(page)
    return parser


def test_the_page_references_no_other_host(page: str) -> None:
    absolute = sorted(set(re.findall(r"""https?://[^\s"'<>)]+""", page)))
    assert not absolute, f"/docs names absolute URLs (a CDN needs the network): {absolute}"
    protocol_relative = re.findall(r"""(?:src|href)\s*=\s*["']//[^"']*""", page, re.I)
    assert not protocol_relative, protocol_relative
    css_imports = re.findall(r"""@import\s+(?:url\()?\s*["']?(?://|https?:)""", page, re.I)
    assert not css_imports, css_imports


def test_the_page_loads_swagger_ui_from_the_server(references: References) -> None:
    """At least the bundle and a style sheet, all on this server (same-origin paths)."""
    assert any("swagger-ui-bundle" in src for src in references.scripts), references.scripts
    assert references.styles, "the page links no style sheet"
    for url in references.all:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url}: not served by this server"


def test_every_asset_the_page_references_is_served(
    api: ContractClient, server, references: References
) -> None:
    """200, the right media type, the headers of every response (the validating client checks
    X-Request-ID, Cache-Control: no-store and nosniff), and the pinned Swagger UI's bytes."""
    assert references.all
    for url in references.all:
        path = urlsplit(urljoin(f"{server.base_url}/docs", url)).path
        response = api.get(path)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        suffix = Path(path).suffix
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        assert media in MEDIA_TYPES.get(suffix, {media}), f"{url} served as {media!r}"
        assert response.content, f"{url}: empty"
        if path.startswith(ASSETS):
            pinned = SWAGGER_UI_DIST / path.removeprefix(ASSETS)
            assert response.content == pinned.read_bytes(), f"{url} is not the pinned file"


@pytest.mark.parametrize(
    "name",
    [
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    ],
)
def test_the_swagger_ui_files_are_served_under_docs_assets(api: ContractClient, name: str) -> None:
    """The four files of DECISIONS "Operations", at the same URLs in all four."""
    response = api.get(ASSETS + name)
    assert response.status_code == 200, response.text[:200]
    media = response.headers["content-type"].split(";")[0].strip().lower()
    assert media in MEDIA_TYPES[Path(name).suffix], media
    assert response.content == (SWAGGER_UI_DIST / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "nope.js",
        "swagger-ui-bundle.js.map",  # in the wheel, but not one of the files served
        "oauth2-redirect.html",
        "LICENSE",
        "index.html",
        "SWAGGER-UI.CSS",
        "swagger-ui.css.",
        "..%2F..%2Fopenapi.json",
        "%2e%2e%2fswagger-ui.css",
        "sub/swagger-ui.css",
    ],
)
def test_unknown_asset_names_are_a_404_problem(api: ContractClient, name: str) -> None:
    assert_problem(api.get(ASSETS + name), 404)


def test_the_page_loads_the_openapi_document(page: str, api: ContractClient) -> None:
    """Swagger UI is configured with the server's own /openapi.json (not an embedded copy,
    not another URL)."""
    loads = re.search(r"""["']?url["']?\s*:\s*["']/openapi\.json["']""", page)
    assert loads, "the page does not configure Swagger UI with url: '/openapi.json'"
    assert api.get("/openapi.json").status_code == 200


def test_openapi_json_reports_the_contract_version(api: ContractClient, contract: Contract) -> None:
    assert contract.document["info"]["version"] == "1.2.0"
    document = api.get("/openapi.json").json()
    assert document["info"]["version"] == "1.2.0"
