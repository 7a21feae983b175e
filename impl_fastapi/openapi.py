"""The OpenAPI document: FastAPI's own generator, plus only what it cannot express; and /docs,
FastAPI's own Swagger UI page with its files served by the app itself."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from pydantic.json_schema import models_json_schema

from impl_fastapi.errors import NotFound
from impl_fastapi.schemas import AssistantDone, AssistantToken, Problem, ValidationProblem
from shared import docs
from shared.live.stream import MEDIA_TYPE, STREAM_HEADERS
from shared.problems import PROBLEM_MEDIA_TYPE, TITLES

[STREAM_BUFFERING_HEADER] = STREAM_HEADERS

DESCRIPTION = (
    "Projects, members, labels, tasks, comments and activity for a browser single-page app, "
    "with live events, notifications and a project assistant. "
    "Every error is an RFC 9457 problem (`application/problem+json`)."
)


# Every operation can answer these: the size limit comes before routing the body (413), and
# anything unexpected is a 500.
_EVERY_OPERATION = (413, 500)
# Every operation that uses the database: unreachable, out of connections, too slow.
_DATABASE = (503,)


def problem_responses(*statuses: int, database: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each error status as problem+json, by reference to the
    Problem and ValidationProblem schemas install_openapi adds (FastAPI cannot attach a model
    to a media type other than the route's own). 413 and 500 are added to every route, 503 to
    every route that uses the database."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *_EVERY_OPERATION, *(_DATABASE if database else ())}):
        schema = "ValidationProblem" if status == 422 else "Problem"
        responses[status] = {
            "description": TITLES[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    return responses


def event_stream_content(events: dict[str, str]) -> dict[str, Any]:
    """The `content` of a stream as the contract documents it: a string (OpenAPI 3.1 has no
    schema for a stream's items) and each event's `data` schema under `x-sse-events` (event
    name → component schema name)."""
    return {
        MEDIA_TYPE: {
            "schema": {
                "type": "string",
                "description": "Server-Sent Events, UTF-8; see the operation's description.",
            },
            "x-sse-events": {
                name: {"$ref": f"#/components/schemas/{schema}"} for name, schema in events.items()
            },
        }
    }


def event_stream_response(description: str, events: dict[str, str]) -> dict[int | str, Any]:
    """OpenAPI `responses=` for the 200 of an event-stream route, with the
    `X-Accel-Buffering` header."""
    return {
        200: {
            "description": description,
            "headers": {
                STREAM_BUFFERING_HEADER: {
                    "description": "`no`: a proxy (nginx) must pass the stream on as it comes.",
                    "required": True,
                    "schema": {"type": "string", "enum": ["no"]},
                }
            },
            "content": event_stream_content(events),
        }
    }


def _documented_schemas() -> dict[str, Any]:
    """Schemas routes refer to but never return, so FastAPI would not emit them: the
    problem+json error bodies (problem_responses) and the `data` of the assistant's stream
    events (event_stream_content)."""
    models = (Problem, ValidationProblem, AssistantToken, AssistantDone)
    _, schema = models_json_schema(
        [(model, "serialization") for model in models],
        ref_template="#/components/schemas/{model}",
    )
    return dict(schema["$defs"])


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                servers=[{"url": "/"}],
                tags=app.openapi_tags,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                _documented_schemas()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    """/docs offline (contract/DECISIONS.md, "Operations"): what FastAPI's `docs_url` sets up,
    with the Swagger UI files of the drf-spectacular-sidecar wheel (shared.docs, the same for
    all four) served under /docs/assets/ instead of a CDN."""

    @app.get("/docs", include_in_schema=False)
    async def get_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=docs.JS_URL,
            swagger_css_url=docs.CSS_URL,
            swagger_favicon_url=docs.FAVICON_URL,
        )

    @app.get(docs.ASSETS_URL + "{name}", include_in_schema=False)
    async def get_docs_asset(name: str) -> Response:
        found = docs.asset(name)
        if found is None:
            raise NotFound()
        content, content_type = found
        return Response(content, media_type=content_type)
