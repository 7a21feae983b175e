"""The generated OpenAPI document: where it is served, and the Litestar defaults it overrides.

- Swagger UI at /docs, offline: its files are the drf-spectacular-sidecar wheel's
  (shared.docs), served by `docs_asset` under /docs/assets/ — no CDN — and it loads
  /openapi.json (Litestar's page embeds the document).
- The document at /openapi.json, rather than Litestar's /schema/*. The
  OpenAPI router lives under /docs because Litestar gives it a catch-all `/{path:str}` that
  answers unknown paths with an HTML 404 (and turns a POST to an unknown path into a 405); at
  the root it would swallow the app's own 404s. /openapi.json is served by `openapi_document`.
- Errors are documented as the contract's problem+json responses (`problem_responses`), and the
  `400 ValidationException` Litestar adds to every operation with parameters is removed
  (`ContractOperation`): validation answers 422 here.
- Request Structs that forbid unknown fields say `additionalProperties: false`
  (`StrictStructSchemaPlugin`); Litestar's Struct plugin does not emit it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import ParamType
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    License,
    OAuthFlow,
    OAuthFlows,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.plugins import OpenAPISchemaPlugin

from impl_litestar.schemas import Problem, ValidationProblem
from shared import docs
from shared.live.stream import SEQ_MAX
from shared.openapi_tags import OPENAPI_TAGS
from shared.problems import PROBLEM_MEDIA_TYPE, TITLES

SECURITY_SCHEME = "OAuth2PasswordBearer"
BEARER: list[dict[str, list[str]]] = [{SECURITY_SCHEME: []}]


def problem_responses(*statuses: int, database: bool = True) -> dict[int, ResponseSpec]:
    """The problem+json error responses an operation documents: its own (`statuses`), plus
    those of every operation — 413 (the size check comes before routing the body), 500, and
    503 unless it never touches the database (contract 1.1)."""
    every = (413, 500, *((503,) if database else ()))
    return {
        status: ResponseSpec(
            data_container=ValidationProblem if status == 422 else Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
            description=TITLES[status],
        )
        for status in sorted({*statuses, *every})
    }


NOT_MODIFIED = ResponseSpec(
    data_container=None,
    generate_examples=False,
    description="Not Modified: If-None-Match matched; no body.",
)


@dataclass
class ContractOperation(Operation):
    """Drops the `400 Validation Exception` response Litestar documents for any operation with
    parameters or a body, unless the operation documents its own problem+json 400."""

    def __post_init__(self) -> None:
        bad_request = (self.responses or {}).get("400")
        content = getattr(bad_request, "content", None) or {}
        if bad_request is not None and PROBLEM_MEDIA_TYPE not in content:
            del self.responses["400"]


EVENT_STREAM = ResponseSpec(
    data_container=str,
    media_type="text/event-stream",
    generate_examples=False,
    description="The project's activity as Server-Sent Events: `event: activity`, `data:` the "
    "Activity JSON, `id:` its `seq`; a `: ping` comment first and after every 15 s without an "
    "event.",
)
_SEQ = Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=SEQ_MAX)
EVENT_STREAM_PARAMETERS = [
    Parameter(
        name="Last-Event-ID",
        param_in=ParamType.HEADER,
        required=False,
        description="Resume after this event id (an activity `seq`): every later entry of the "
        "project, in order, then live ones. Wins over `last_event_id`.",
        schema=_SEQ,
    ),
    Parameter(
        name="last_event_id",
        param_in=ParamType.QUERY,
        required=False,
        description="`Last-Event-ID` for clients that cannot send the header.",
        schema=_SEQ,
    ),
    Parameter(
        name="access_token",
        param_in=ParamType.QUERY,
        required=False,
        description="The bearer token, for clients that cannot send headers (a browser's "
        "EventSource); the Authorization header wins when both are sent.",
        schema=Schema(type=OpenAPIType.STRING),
    ),
]


@dataclass
class EventStreamOperation(ContractOperation):
    """Documents the stream's parameters, which the handler reads through validation.py and
    security.py rather than as its own parameters (their rules and locations are shared)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), *EVENT_STREAM_PARAMETERS]


@dataclass
class AssistantOperation(ContractOperation):
    """askAssistant's 200 has two media types, which the body's `stream` chooses: the JSON
    AssistantAnswer Litestar documents from the return type, and the event stream added here."""

    def __post_init__(self) -> None:
        super().__post_init__()
        success = (self.responses or {}).get("200")
        if isinstance(success, OpenAPIResponse):
            success.content = {
                **(success.content or {}),
                "text/event-stream": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description="`token` events, then `done` (or `error` after a failure "
                        "mid-stream); see the operation's description.",
                    )
                ),
            }
            success.description = (
                "`stream: false`: the whole answer (`application/json`). "
                "`stream: true`: `token` events, then `done` — or, after a failure "
                "mid-stream, `error` (`text/event-stream`)."
            )


class StrictStructSchemaPlugin(StructSchemaPlugin):
    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Any:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if getattr(info, "forbid_unknown_fields", False):
            schema.additional_properties = False
        return schema


class SwaggerUI(SwaggerRenderPlugin):
    """Litestar's Swagger UI page, configured with the server's own /openapi.json instead of an
    embedded copy of the document (contract/DECISIONS.md, "Operations")."""

    def render_json(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        # The page's template writes this after `spec: `; Swagger UI skips an undefined `spec`
        # and loads `url`.
        return f"undefined, url: '{OPENAPI_JSON_URL}'".encode()


OPENAPI_JSON_URL = "/openapi.json"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Taskboard",
        version="1.2.0",
        summary="Projects, members, labels, tasks, comments and activity for a browser "
        "single-page app.",
        description="Quartet's Taskboard API, served by Litestar. Generated from the code; it "
        "matches contract/openapi.yaml.",
        license=License(name="MIT", identifier="MIT"),
        path="/docs",
        render_plugins=[
            SwaggerUI(
                path="/",
                js_url=docs.JS_URL,
                css_url=docs.CSS_URL,
                standalone_preset_js_url=docs.PRESET_JS_URL,
                favicon=f'<link rel="icon" type="image/png" href="{docs.FAVICON_URL}">',
            ),
            JsonRenderPlugin(path="/openapi.json"),
        ],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="oauth2",
                    description="JWT (HS256) from POST /api/v1/auth/token.",
                    flows=OAuthFlows(password=OAuthFlow(token_url="/api/v1/auth/token", scopes={})),
                )
            }
        ),
        tags=[Tag(name=tag["name"], description=tag["description"]) for tag in OPENAPI_TAGS],
        use_handler_docstrings=True,
    )


SCHEMA_PLUGINS: list[OpenAPISchemaPlugin] = [StrictStructSchemaPlugin()]


@get(OPENAPI_JSON_URL, include_in_schema=False, media_type=MediaType.JSON, sync_to_thread=False)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The generated document at the root, where the contract suite and clients expect it."""
    return request.app.openapi_schema.to_schema()


@get(
    f"{docs.ASSETS_URL}{{name:str}}",
    include_in_schema=False,
    sync_to_thread=False,
    opt={"exclude_from_auth": True},
)
def docs_asset(name: str) -> Response[bytes]:
    """A Swagger UI file for /docs (only those the page loads; 404 for any other name)."""
    found = docs.asset(name)
    if found is None:
        raise NotFoundException()
    content, content_type = found
    # Litestar appends `; charset=utf-8` to a text/* media type itself.
    return Response(content, media_type=content_type.split(";", 1)[0])
