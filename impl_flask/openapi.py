"""flask-smorest's Api and Blueprint, set up so the generated OpenAPI 3.1 document says what
contract/openapi.yaml says.

- Error responses are problem details (`application/problem+json`, Problem/ValidationProblem)
  registered once per status; `@blp.problems(401, 404, ...)` documents an operation's errors
  with `alt_response` (413 and 503 on every operation), and flask-smorest's catch-all `default`
  error response is switched off.
- `@blp.idempotent` puts impl_flask.idempotency around a create and documents its
  `Idempotency-Key` parameter and 409 (a doc callback, like flask-smorest's own ETag feature).
- Every Blueprint parses with validation.ContractParser (the contract's 415/400/422).
- apispec learns what the marshmallow plugin cannot infer: the uuid path converter's schema
  (`format: uuid`, where werkzeug's int converter would add `minimum: 0`), `uniqueItems` from
  the Unique validator, and the shapes of an error `loc` and of activity `changes`.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from http import HTTPStatus
from typing import Any, TypeVar

import apispec
import apispec.ext.marshmallow
import flask_smorest
import marshmallow as ma

from impl_flask import fields, schemas, validation
from impl_flask.idempotency import idempotent
from shared import idempotency
from shared.live.stream import SEQ_MAX
from shared.problems import PROBLEM_MEDIA_TYPE, TITLES

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC: dict[str, Any] = {"security": []}  # `@blp.doc(**PUBLIC)`: no token needed

ETAG_HEADER = {
    "description": "Strong validator of the representation: the first 32 hex digits of SHA-256 "
    "over the body's canonical JSON, in quotes.",
    "required": True,
    "schema": {"type": "string", "pattern": r'^"[0-9a-f]{32}"$'},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
IDEMPOTENT_REPLAYED_HEADER = {
    "description": "`true` when the response is the replay of an earlier request with the same "
    "`Idempotency-Key`.",
    "required": False,
    "schema": {"type": "string", "enum": ["true"]},
}
# A Server-Sent Events response (`@blp.response(200, EVENT_STREAM, content_type=...,
# headers=STREAM_RESPONSE_HEADERS)`): OpenAPI has no schema for the events of a stream.
EVENT_STREAM = {"type": "string", "description": "Server-Sent Events, UTF-8."}
STREAM_RESPONSE_HEADERS = {
    "X-Accel-Buffering": {
        "description": "`no`: a proxy (nginx) must pass the stream on as it comes.",
        "required": True,
        "schema": {"type": "string", "enum": ["no"]},
    }
}
IF_NONE_MATCH_PARAMETER = "IfNoneMatch"  # `@blp.doc(parameters=[...])`: Api registers them
IDEMPOTENCY_KEY_PARAMETER = "IdempotencyKey"
LAST_EVENT_ID_PARAMETER = "LastEventIdHeader"
LOCATION_HEADER = {
    "description": "Absolute path of the created resource (no scheme or host).",
    "required": True,
    "schema": {"type": "string"},
}


def response_name(status: int) -> str:
    """The component name flask-smorest uses for a status (`@blp.arguments` refers to 422's)."""
    return HTTPStatus(status).name


class Api(flask_smorest.Api):
    ERROR_SCHEMA = schemas.ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own error statuses

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(marshmallow_plugin=MarshmallowPlugin(), **kwargs)
        self.register_converter(
            validation.UUIDConverter, lambda _: {"type": "string", "format": "uuid"}
        )

    def _register_error_handlers(self) -> None:
        """errors.init_app installs the one handler; flask-smorest's is not wanted."""

    def _register_responses(self) -> None:
        for status, title in TITLES.items():
            schema = schemas.ValidationProblemSchema if status == 422 else schemas.ProblemSchema
            response: dict[str, Any] = {
                "description": title,
                "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
            }
            if status in (429, 503):  # errors.py sends Retry-After with both
                response["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
            self.spec.components.response(response_name(status), response, lazy=True)
        self.spec.components.response(
            response_name(304),
            {
                "description": "Not Modified: If-None-Match matched the current ETag. No body.",
                "headers": {"ETag": ETAG_HEADER},
            },
            lazy=True,
        )
        self.spec.components.parameter(
            IF_NONE_MATCH_PARAMETER,
            "header",
            {
                "name": "If-None-Match",
                "required": False,
                "description": "304 with no body if the current ETag matches (weak comparison).",
                "schema": {"type": "string"},
            },
            lazy=True,
        )
        self.spec.components.parameter(
            IDEMPOTENCY_KEY_PARAMETER,
            "header",
            {
                "name": idempotency.HEADER,
                "required": False,
                "description": "Makes the create safe to retry (contract: Idempotent creates).",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": idempotency.MAX_LENGTH,
                    "pattern": idempotency.PATTERN,
                },
            },
            lazy=True,
        )
        self.spec.components.parameter(
            LAST_EVENT_ID_PARAMETER,
            "header",
            {
                "name": validation.LAST_EVENT_ID_HEADER,
                "required": False,
                "description": "Resume after this event `id` (what `EventSource` sends when it "
                "reconnects). Wins over `last_event_id`.",
                "schema": {"type": "integer", "minimum": 0, "maximum": SEQ_MAX},
            },
            lazy=True,
        )


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = validation.ContractParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_idempotency_doc)
        self._prepare_doc_cbks.append(self._prepare_resumable_doc)

    def problems(self, *statuses: int, uses_database: bool = True) -> Callable[[F], F]:
        """Document the problem responses an operation can answer. Every operation can answer
        413 (the body limit comes before routing) and, unless it never touches the database
        (getHealth), 503."""
        everywhere = (413, 503) if uses_database else (413,)

        def decorator(func: F) -> F:
            for status in sorted({*statuses, *everywhere}):
                func = self.alt_response(status, response=response_name(status))(func)
            return func

        return decorator

    def idempotent(self, func: F) -> F:
        """An idempotent create (impl_flask.idempotency): between `@blp.arguments` (the request
        is valid) and `@blp.response` (whose bytes are stored). Documents the Idempotency-Key
        parameter and the 409 of a key still in flight."""
        wrapper = self.alt_response(409, response=response_name(409))(idempotent(func))
        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))  # type: ignore[attr-defined]
        wrapper._apidoc["idempotent"] = True  # type: ignore[attr-defined]
        return wrapper

    def resumable(self, func: F) -> F:
        """A stream that resumes after `Last-Event-ID`: documents the header, and validation
        checks it with the query (one 422 lists both; validation.last_event_id reads it)."""
        func._apidoc = deepcopy(getattr(func, "_apidoc", {}))  # type: ignore[attr-defined]
        func._apidoc[validation.RESUMABLE] = True  # type: ignore[attr-defined]
        return func

    @staticmethod
    def _prepare_resumable_doc(
        doc: dict[str, Any], doc_info: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        if doc_info.get(validation.RESUMABLE):
            doc.setdefault("parameters", []).append(LAST_EVENT_ID_PARAMETER)
        return doc

    @staticmethod
    def _prepare_idempotency_doc(
        doc: dict[str, Any], doc_info: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        if doc_info.get("idempotent"):
            doc.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        return doc


# ---------------------------------------------------------------------------- apispec attributes


class MarshmallowPlugin(apispec.ext.marshmallow.MarshmallowPlugin):
    """apispec's plugin with the attribute functions below (added before any schema is
    converted: flask-smorest resolves its response components while the spec is created)."""

    def init_spec(self, spec: apispec.APISpec) -> None:
        super().init_spec(spec)
        for function in (_unique_items, _loc_items, _changes_pairs):
            self.converter.add_attribute_function(function)


def _unique_items(self: Any, field: ma.fields.Field, **_: Any) -> dict[str, Any]:
    if any(isinstance(v, fields.Unique) for v in field.validators):
        return {"uniqueItems": True}
    return {}


def _loc_items(self: Any, field: ma.fields.Field, **_: Any) -> dict[str, Any]:
    if isinstance(field, fields.Loc):
        return {"items": {"type": ["string", "integer"]}}
    return {}


def _changes_pairs(self: Any, field: ma.fields.Field, **_: Any) -> dict[str, Any]:
    if isinstance(field, fields.Changes):
        return {
            "additionalProperties": {
                "type": "array",
                "description": "[old, new]",
                "minItems": 2,
                "maxItems": 2,
            }
        }
    return {}
