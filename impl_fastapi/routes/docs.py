"""The interactive documentation, offline: FastAPI's own Swagger UI page, with the Swagger UI
files every implementation serves from the drf-spectacular-sidecar wheel (shared.docs) instead
of a CDN (contract/DECISIONS.md, "Operations"). Outside the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from impl_fastapi.errors import NotFound
from impl_fastapi.validation import ContractRoute
from shared import docs

router = APIRouter(tags=["operations"], route_class=ContractRoute, include_in_schema=False)


@router.get("/docs", operation_id="getDocs")
async def get_docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — Swagger UI",
        swagger_js_url=docs.JS_URL,
        swagger_css_url=docs.CSS_URL,
        swagger_favicon_url=docs.FAVICON_URL,
    )


@router.get(docs.ASSETS_URL + "{name}", operation_id="getDocsAsset")
async def get_docs_asset(name: str) -> Response:
    found = docs.asset(name)
    if found is None:
        raise NotFound()
    content, content_type = found
    return Response(content, media_type=content_type)
