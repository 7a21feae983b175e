"""Request validation in the contract's order and vocabulary (contract/DECISIONS.md, "Errors":
Content-Type 415 → malformed JSON 400 → one 422 listing every violation, after authentication).

- `ContractParser` is the webargs parser of every `@blp.arguments` (openapi.Blueprint): webargs
  accepts `+json` media types, ignores a wrong Content-Type and answers bad JSON with its own
  400; here a body in another media type is 415, malformed JSON 400, an empty body 422
  `missing`, and marshmallow's messages become the contract's error list (fields.ErrorMessage
  carries each one's type, so nothing parses English).
- `UUIDConverter` matches any path segment, so `/tasks/not-a-uuid` is a 422 `uuid_parsing` at
  `["path", "task_id"]` after authentication, not werkzeug's router 404.
- A stream's `Last-Event-ID` header (`@blp.resumable`) is validated with the query string, by
  shared.live.stream's rule, so one 422 lists both when both are bad.
- Hostile input (contract 1.1): JSON nested past 32 levels, with an unpaired surrogate, or deep
  enough for Python's json to raise RecursionError is malformed (400); U+0000 in a body, query
  or form value is `invalid_characters` at its loc, replacing that loc's other errors; unknown
  body fields are found in one linear pass; a malformed Idempotency-Key joins the one 422.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import marshmallow as ma
from flask import Flask, Request, current_app, g, request
from flask_smorest import abort
from marshmallow.exceptions import SCHEMA
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BaseConverter

from impl_flask.fields import Credential, ErrorMessage
from shared import idempotency, problems
from shared.inputs import NUL, check_document, nul_locations, parse_uuid, query_nul_locations
from shared.live.stream import SEQ_MAX, InvalidLastEventId, parse_last_event_id
from shared.problems import field_error

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"

_NUL_LOCATIONS = "contract_nul_locations"
_PENDING_ERRORS = "contract_pending_errors"
_DECODED_BODY = "contract_decoded_body"

# Where webargs loaded a value → the first element of the contract's `loc`.
_LOC_ROOTS = {
    "json": "body",
    "form": "body",
    "query": "query",
    "querystring": "query",
    "headers": "header",
    "path": "path",
    "view_args": "path",
}


def init_app(app: Flask) -> None:
    """Before the routes are added: their `<uuid:...>` segments use UUIDConverter.
    (app.py registers `reject_malformed_path` itself, in the contract's order of hooks.)"""
    app.url_map.converters["uuid"] = UUIDConverter


# ---------------------------------------------------------------------------- validation errors


def validation_errors(messages: Mapping[str, Any]) -> list[dict[str, Any]]:
    """webargs' `{location: marshmallow messages}` → the contract's flat error list."""
    errors: list[dict[str, Any]] = []
    for location, nested in messages.items():
        _flatten(nested, [_LOC_ROOTS.get(location, location)], errors)
    return errors


def _flatten(node: Any, loc: list[str | int], out: list[dict[str, Any]]) -> None:
    if isinstance(node, Mapping):
        for key, child in node.items():
            # `_schema` is marshmallow's key for the value as a whole (e.g. a body that is not
            # an object): it has no field name of its own.
            _flatten(child, loc if key == SCHEMA else [*loc, key], out)
    elif isinstance(node, list):
        for message in node:
            _flatten(message, loc, out)
    else:
        error_type = node.type if isinstance(node, ErrorMessage) else "invalid_type"
        out.append(field_error(loc, error_type, str(node)))


# ---------------------------------------------------------------------------- path parameters


class MalformedPathValue(str):
    """A path segment that is not a UUID; validation reports it (see UUIDConverter)."""


class UUIDConverter(BaseConverter):
    """`<uuid:name>`: any segment matches; a malformed one (anything but the canonical
    8-4-4-4-12 form) reaches validation as a MalformedPathValue and is reported there as
    `uuid_parsing`, together with the body's errors. Registered in place of werkzeug's
    converter, which would 404 it."""

    def to_python(self, value: str) -> uuid.UUID | MalformedPathValue:
        parsed = parse_uuid(value)
        return MalformedPathValue(value) if parsed is None else parsed

    def to_url(self, value: Any) -> str:
        return str(value)


def path_errors(req: Request) -> list[dict[str, Any]]:
    return [
        field_error(["path", name], "uuid_parsing", "Input should be a valid UUID")
        for name, value in (req.view_args or {}).items()
        if isinstance(value, MalformedPathValue)
    ]


def reject_malformed_path() -> None:
    """before_request, after authentication: 422 for a malformed path parameter, unless the view
    parses a body or query string — then ContractParser reports it along with their errors, and
    after the 415/400 checks of the body."""
    errors = path_errors(request)
    if errors and not _handler_doc().get("arguments"):
        abort(422, errors=errors)


def _handler_doc() -> dict[str, Any]:
    """The flask-smorest doc info of the handler this request is routed to (`@blp.arguments`
    records its schemas there, `@blp.idempotent` that the create takes an Idempotency-Key)."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    method = "get" if request.method == "HEAD" else request.method.lower()
    handler = getattr(view_class, method, None) if view_class is not None else view
    return getattr(handler, "_apidoc", {})


# ---------------------------------------------------------------------------- headers


def idempotency_key_errors(req: Request) -> list[dict[str, Any]]:
    """A malformed Idempotency-Key on an idempotent create (validated with the body, so one 422
    lists both); impl_flask.idempotency uses a well-formed one."""
    value = req.headers.get(idempotency.HEADER)
    if value is None or not _handler_doc().get("idempotent"):
        return []
    problem = idempotency.key_error(value)
    if problem is None:
        return []
    error_type, message = problem
    return [field_error(idempotency.HEADER_LOC, error_type, message)]


LAST_EVENT_ID_HEADER = "Last-Event-ID"
RESUMABLE = "resumable"  # the doc info key of `@blp.resumable` (openapi.Blueprint)
_LAST_EVENT_ID_MESSAGES = {
    "int_parsing": "Input should be a valid integer",
    "greater_than_equal": "Input should be greater than or equal to 0",
    "less_than_equal": f"Input should be less than or equal to {SEQ_MAX}",
}


def last_event_id_errors(req: Request) -> list[dict[str, Any]]:
    """A malformed `Last-Event-ID` on a resumable stream (the query's `last_event_id` is the
    schema's, with the same rule)."""
    if not _handler_doc().get(RESUMABLE):
        return []
    try:
        parse_last_event_id(req.headers.get(LAST_EVENT_ID_HEADER), None)
    except InvalidLastEventId as invalid:
        return [
            field_error(list(loc), error_type, _LAST_EVENT_ID_MESSAGES[error_type])
            for loc, error_type in invalid.errors
        ]
    return []


def last_event_id(query_value: int | None) -> int | None:
    """Where a stream resumes: the header's `seq` (it wins), else the query's, else None. Both
    were validated with the request (`last_event_id_errors`, the schema)."""
    header = parse_last_event_id(request.headers.get(LAST_EVENT_ID_HEADER), None)
    return query_value if header is None else header


# ---------------------------------------------------------------------------- U+0000


def _nul_locations() -> list[list[str | int]]:
    """Where this request's parsed values hold U+0000 (collected by ContractParser.load_*)."""
    return g.setdefault(_NUL_LOCATIONS, [])


def _with_invalid_characters(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One `invalid_characters` per value holding U+0000, instead of any other error at its loc
    (its length, pattern or enum are not checked); other fields' errors as they are."""
    nul = _nul_locations()
    if not nul:
        return errors
    kept = [error for error in errors if error["loc"] not in nul]
    # Built here, not with shared.problems.field_error: its ERROR_TYPES lacks the type.
    return kept + [
        {"loc": loc, "type": "invalid_characters", "msg": "String should not contain U+0000"}
        for loc in nul
    ]


# ---------------------------------------------------------------------------- the parser


class ContractParser(FlaskParser):
    """webargs' Flask parser, answering in the contract's order and vocabulary."""

    DEFAULT_VALIDATION_STATUS = 422

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = super().parse(*args, **kwargs)
        # The body or query was valid as marshmallow sees it; the request may still not be.
        _answer_invalid(request, [])
        return parsed

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        _require_media_type(req, JSON_MEDIA_TYPE)
        raw = req.get_data(cache=True)
        if not raw:
            raise ma.ValidationError(ErrorMessage("missing", "A request body is required"))
        try:
            document = json.loads(raw, parse_constant=_reject_constant)
            check_document(document)  # too deep, or an unpaired surrogate
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, ...
            abort(400, message=problems.MALFORMED_JSON)
        g.setdefault(_DECODED_BODY, document)
        if not isinstance(document, dict):
            return document  # one error, marshmallow's (invalid_type at ["body"])
        known = _known_names(schema, document)
        # An unknown field is extra_forbidden whatever its value holds.
        _nul_locations().extend(loc for loc in nul_locations(document) if loc[1] in known)
        return {name: value for name, value in document.items() if name in known}

    def load_querystring(self, req: Request, schema: ma.Schema) -> Any:
        proxy = self._makeproxy(req.args, schema, cls=LastValueProxy)
        names = [field.data_key or name for name, field in schema.fields.items()]
        _nul_locations().extend(
            query_nul_locations(req.args.items(multi=True), names, proxy.multiple_keys)
        )
        return proxy

    def load_form(self, req: Request, schema: ma.Schema) -> Any:
        _require_media_type(req, FORM_MEDIA_TYPE)
        known = _known_names(schema, req.form.keys())
        fields = MultiDict(
            (name, value) for name, value in req.form.items(multi=True) if name in known
        )
        credentials = {  # U+0000 in a credential is a failed sign-in (401), not a 422
            field.data_key or name
            for name, field in schema.fields.items()
            if isinstance(field, Credential)
        }
        _nul_locations().extend(
            ["body", name]
            for name in fields
            if name not in credentials and any(NUL in value for value in fields.getlist(name))
        )
        return self._makeproxy(fields, schema)

    def handle_error(
        self,
        error: ma.ValidationError,
        req: Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        _answer_invalid(req, validation_errors(error.messages))
        raise AssertionError("unreachable: a validation error always answers 422")


def _known_names(schema: ma.Schema, names: Iterable[str]) -> set[str]:
    """The body's field names the schema knows; each other one is an `extra_forbidden` error,
    found here in one linear pass (marshmallow's own RAISE merges its error dictionaries once
    per unknown field: seconds for a 1 MiB form of 10,000 fields, before authentication)."""
    known = {field.data_key or name for name, field in schema.load_fields.items()}
    _pending_errors().extend(
        field_error(["body", name], "extra_forbidden", "Extra inputs are not permitted")
        for name in names
        if name not in known
    )
    return known


def _pending_errors() -> list[dict[str, Any]]:
    """Errors found while loading, before marshmallow (ContractParser.load_*)."""
    return g.setdefault(_PENDING_ERRORS, [])


def _answer_invalid(req: Request, field_errors: list[dict[str, Any]]) -> None:
    """422 listing every violation of the request: the path, the Idempotency-Key, and the fields
    of what was parsed (U+0000 ones as `invalid_characters`)."""
    errors = (
        path_errors(req)
        + last_event_id_errors(req)
        + idempotency_key_errors(req)
        + _with_invalid_characters(_pending_errors() + field_errors)
    )
    if errors:
        abort(422, errors=errors)


def decoded_body() -> Any:
    """The request's JSON body as decoded (the idempotency fingerprint hashes it)."""
    return g.get(_DECODED_BODY)


class LastValueProxy(MultiDictProxy):
    """A single-valued query parameter given twice counts once, with its last value — as
    Starlette and Django read it (werkzeug's MultiDict.get would take the first)."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.multiple_keys and key in self.data:
            return self.data.getlist(key)[-1]
        return super().__getitem__(key)


def _require_media_type(req: Request, media_type: str) -> None:
    """415 unless the body is `media_type` (parameters such as charset allowed, `+json` not).
    A request without Content-Type passes only if it has no body (then: 422 missing)."""
    if req.mimetype == media_type:
        return
    if req.mimetype or req.get_data(cache=True):
        abort(415, message=f"Send the body as {media_type}.")


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")
