"""Request validation: the contract's order and error types, before any guard or dependency.

Litestar validates each dependency's parameters separately (after resolving the ones before it,
so a membership check would answer 404 first), stops at the first error of a body, converts
bodies leniently (`"5"` becomes 5) and answers 400. `RequestValidationMiddleware` runs after
authentication and validates the handler's whole request up front (contract/DECISIONS.md,
"Order of checks", steps 4-6): 415, then 400, then one 422 listing every violation of path,
query, headers and body together. Litestar's own validation still runs afterwards, on input
that is known to be valid.

msgspec errors carry no codes, so the error-type matrix (DECISIONS.md, "Validation error
types") is mapped from msgspec's messages; msgspec also stops at the first bad list element, so
lists are checked element by element.

What msgspec lets through that the contract refuses is refused here too (DECISIONS.md,
"Validation error types", contract 1.1; the rules are shared.inputs'): U+0000 in a string
(`invalid_characters`, instead of any other error at that loc), JSON nested deeper than 32
levels (400; msgspec's own limit is a RecursionError), a pattern that matches only up to a final
newline (msgspec's `Meta(pattern=...)` uses `re.search`), UUIDs not in the 8-4-4-4-12 form, and
booleans other than `true`/`false`."""

from __future__ import annotations

import re
import types
import typing
import uuid
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import MediaType, Request, Response
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, ExceptionHandlersMap, Receive, Scope, Send

from impl_litestar.errors import (
    Loc,
    RequestValidationFailed,
    UnsupportedMediaTypeException,
    contract_error,
    invalid_last_event_id_errors,
    problem_response,
)
from impl_litestar.security import QUERY_TOKEN_OPT, QUERY_TOKEN_PARAMETER
from shared import idempotency, inputs, problems
from shared.live import stream
from shared.problems import field_error

# ------------------------------------------------------------------------------ the gate


class RequestValidationMiddleware(ASGIMiddleware):
    """Validates the whole request of a handler (`validate_request`) after authentication and
    before guards and dependencies; Litestar then reads the cached body as usual."""

    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._specs: dict[str, RequestSpec] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler: Any = scope["route_handler"]
        spec = self._specs.get(handler.handler_id)
        if spec is None:
            spec = self._specs[handler.handler_id] = request_spec(
                handler, frozenset(scope.get("path_params", {}))
            )
        request: Request[Any, Any, Any] = Request(scope, receive)
        await validate_request(request, spec)
        if (query := canonical_query(request, spec)) is not None:
            scope["query_string"] = query  # what Litestar then parses, as validation read it
        await next_app(scope, receive, send)


# ------------------------------------------------------------------------- whole requests

# The route handler option that marks an idempotent create (set by idempotency.idempotent_post).
IDEMPOTENT_OPT = "idempotent"
# The route handler option of an event stream that resumes after `Last-Event-ID` (or the
# `last_event_id` query parameter), which shared.live.stream parses, locations and all.
RESUMABLE_OPT = "resumable"

# Handler parameters Litestar fills in itself, never from the request's path/query/headers.
_RESERVED = frozenset(
    {"self", "state", "request", "scope", "headers", "cookies", "query", "body", "data", "socket"}
)


class ParameterSpec(msgspec.Struct, frozen=True):
    location: str  # "path", "query" or "header"
    name: str  # as on the wire
    annotation: Any
    required: bool
    many: bool  # a repeatable query parameter

    @property
    def scalar(self) -> Any:
        return _unwrap(self.annotation)[0]


class RequestSpec(msgspec.Struct, frozen=True):
    parameters: tuple[ParameterSpec, ...]
    body: BodySpec | None
    idempotent: bool  # a create that takes an Idempotency-Key (idempotency.py)
    resumable: bool  # an event stream that takes a Last-Event-ID (routes/events.py)
    token_in_query: bool  # takes `access_token` too (security.py)

    @property
    def query_names(self) -> frozenset[str]:
        """The documented query parameters (a U+0000 in any of them is `invalid_characters`)."""
        names = frozenset(p.name for p in self.parameters if p.location == "query")
        return names | {QUERY_TOKEN_PARAMETER} if self.token_in_query else names

    @property
    def repeatable_query_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.parameters if p.location == "query" and p.many)


def request_spec(handler: Any, path_parameters: frozenset[str]) -> RequestSpec:
    """What a handler reads from the request: its own parameters and those of every dependency
    it uses (the project id of a membership dependency is a path parameter too)."""
    dependencies = handler.resolve_dependencies()
    found: dict[str, ParameterSpec] = {}

    def visit(parameters: dict[str, Any]) -> None:
        for name, field in parameters.items():
            if name in _RESERVED or name in found:
                continue
            if name in dependencies:
                visit(dependencies[name].parsed_fn_signature.parameters)
                continue
            kwarg = field.kwarg_definition
            if name in path_parameters:
                location, wire = "path", name
            elif getattr(kwarg, "header", None):
                location, wire = "header", kwarg.header
            elif getattr(kwarg, "cookie", None):
                continue
            else:
                location, wire = "query", getattr(kwarg, "query", None) or name
            found[name] = ParameterSpec(
                location=location,
                name=wire,
                annotation=_present_value_type(field),
                required=not (field.has_default or field.is_optional),
                many=_list_item(field.annotation) is not None,
            )

    visit(handler.parsed_fn_signature.parameters)
    data = handler.parsed_fn_signature.parameters.get("data")
    body = None
    if data is not None:
        media_type = getattr(data.kwarg_definition, "media_type", None)
        body = BodySpec(struct=data.annotation, form=media_type == RequestEncodingType.URL_ENCODED)
    return RequestSpec(
        tuple(found.values()),
        body,
        idempotent=bool(handler.opt.get(IDEMPOTENT_OPT)),
        resumable=bool(handler.opt.get(RESUMABLE_OPT)),
        token_in_query=bool(handler.opt.get(QUERY_TOKEN_OPT)),
    )


async def validate_request(request: Request[Any, Any, Any], spec: RequestSpec) -> None:
    """contract/DECISIONS.md "Order of checks", steps 4-6: 415, 400, then one 422 that lists
    every violation of path, query, headers and body together."""
    body = _NO_BODY if spec.body is None else await _read_body(request, spec.body)
    errors: list[dict[str, Any]] = []
    nul_locs: list[Loc] = []
    for parameter in spec.parameters:
        raw = _raw(request, parameter)
        if raw is None:
            if parameter.required:
                errors.append(
                    field_error([parameter.location, parameter.name], "missing", "Field required")
                )
            continue
        errors.extend(
            value_errors(
                raw, parameter.annotation, [parameter.location, parameter.name], strict=False
            )
        )
    nul_locs += inputs.query_nul_locations(
        request.query_params.multi_items(), spec.query_names, spec.repeatable_query_names
    )
    if spec.idempotent:
        errors.extend(_idempotency_key_errors(request.headers.get(idempotency.HEADER)))
    if spec.resumable:
        errors.extend(last_event_id_errors(request))
    if spec.body is not None:
        if body is _NO_BODY:
            errors.append(field_error(["body"], "missing", "Field required"))
        else:
            errors.extend(struct_errors(body, spec.body.struct, ["body"]))
            fields = _fields(spec.body.struct)
            nul_locs += [  # an unknown field is just that (extra_forbidden), whatever it holds
                loc
                for loc in _body_nul_locations(body, await request.body())
                if len(loc) > 1
                and loc[1] in fields
                and not (spec.body.form and loc[1:] in _CREDENTIALS)
            ]
    if nul_locs:
        errors = _with_invalid_characters(errors, nul_locs)
    if errors:
        raise RequestValidationFailed(errors)


def last_event_id(request: Request[Any, Any, Any]) -> int | None:
    """The `seq` a stream resumes after (None: from now on); raises InvalidLastEventId."""
    return stream.parse_last_event_id(
        request.headers.get(LAST_EVENT_ID_HEADER), request.query_params.get(LAST_EVENT_ID_QUERY)
    )


LAST_EVENT_ID_HEADER = "Last-Event-ID"
LAST_EVENT_ID_QUERY = stream.QUERY_LOC[1]


def last_event_id_errors(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    try:
        last_event_id(request)
    except stream.InvalidLastEventId as exc:
        return invalid_last_event_id_errors(exc)
    return []


# A U+0000 in the token form's credentials is a failed sign-in (401, counted; services.auth),
# not a 422: no such user can exist.
_CREDENTIALS = (["username"], ["password"])


def _body_nul_locations(body: Any, raw: bytes) -> list[Loc]:
    """shared.inputs.nul_locations, skipped when the raw bytes cannot hold a U+0000 (JSON spells
    it `\\u0000`; a form `%00`, or sends it raw): a hostile body costs one scan, not a walk."""
    if b"\\u0000" not in raw and b"%00" not in raw and b"\x00" not in raw:
        return []
    return inputs.nul_locations(body)


def _with_invalid_characters(errors: list[dict[str, Any]], nul_locs: list[Loc]) -> list[dict]:
    """`invalid_characters` at each loc holding U+0000, instead of any other error there."""
    marked = {tuple(loc) for loc in nul_locs}
    kept = [error for error in errors if tuple(error["loc"]) not in marked]
    return kept + [
        contract_error(loc, "invalid_characters", "String should not contain U+0000")
        for loc in nul_locs
    ]


def _idempotency_key_errors(value: str | None) -> list[dict[str, Any]]:
    """The Idempotency-Key header's format (shared.idempotency.key_error), with the other 422s."""
    problem = None if value is None else idempotency.key_error(value)
    if problem is None:
        return []
    return [field_error(list(idempotency.HEADER_LOC), *problem)]


def _raw(request: Request[Any, Any, Any], parameter: ParameterSpec) -> Any:
    if parameter.location == "path":
        return request.path_params.get(parameter.name)
    if parameter.location == "header":
        return request.headers.get(parameter.name)
    values = request.query_params.getall(parameter.name, [])
    if parameter.many:
        return values or None
    return values[0] if values else None


def _present_value_type(field: Any) -> Any:
    """The type a parameter's value must have when it is present: its annotation without None
    (msgspec's lenient mode reads the string "null" as None: `?assignee_id=null` is not a
    UUID) and with its Parameter(ge=..., max_length=...) as a msgspec Meta."""
    kwarg = field.kwarg_definition
    meta = {
        name: getattr(kwarg, name)
        for name in ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern")
        if kwarg is not None and getattr(kwarg, name, None) is not None
    }
    bare, metas = _unwrap(field.annotation)
    metas = [*metas, msgspec.Meta(**meta)] if meta else metas
    return typing.Annotated[bare, *metas] if metas else bare


# ------------------------------------------------------------------------------ request bodies


class BodySpec(msgspec.Struct, frozen=True):
    """What a handler's `data` parameter expects."""

    struct: type[msgspec.Struct]
    form: bool  # application/x-www-form-urlencoded instead of JSON


@cache
def _fields(struct: type[msgspec.Struct]) -> dict[str, tuple[Any, bool]]:
    """encode name → (annotation with its Meta, required) of a flat Struct."""
    hints = typing.get_type_hints(struct, include_extras=True)
    info = typing.cast(msgspec.inspect.StructType, msgspec.inspect.type_info(struct))
    return {field.encode_name: (hints[field.name], field.required) for field in info.fields}


def struct_errors(value: Any, struct: type[msgspec.Struct], loc: Loc) -> list[dict[str, Any]]:
    """Every violation of `value` against `struct`, field by field (msgspec stops at the first)."""
    if not isinstance(value, dict):
        return [field_error(loc, "invalid_type", "Input should be an object")]
    fields = _fields(struct)
    errors = [
        field_error([*loc, key], "extra_forbidden", "Extra inputs are not permitted")
        for key in value
        if key not in fields
    ]
    for name, (annotation, required) in fields.items():
        if name in value:
            errors.extend(value_errors(value[name], annotation, [*loc, name], strict=True))
        elif required:
            errors.append(field_error([*loc, name], "missing", "Field required"))
    return errors


def _media_type(request: Request[Any, Any, Any]) -> str | None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


async def _read_body(request: Request[Any, Any, Any], spec: BodySpec) -> Any:
    """The decoded body (steps 4-5: 415, then 400), or `_NO_BODY`."""
    body = await request.body()  # over request_max_body_size: Litestar raises 413
    media_type = _media_type(request)
    expected = "application/x-www-form-urlencoded" if spec.form else MediaType.JSON
    if media_type != expected and (body or media_type is not None):
        raise UnsupportedMediaTypeException()
    if not body:
        return {} if spec.form else _NO_BODY
    if spec.form:
        return _parse_form(body)
    try:
        document = msgspec.json.decode(body)  # a lone surrogate escape is a DecodeError
        # Fewer brackets than the limit cannot nest deeper than it: most bodies skip the walk.
        if body.count(b"[") + body.count(b"{") > inputs.MAX_JSON_DEPTH:
            inputs.check_document(document)
    except (msgspec.DecodeError, RecursionError, inputs.MalformedDocument):
        # RecursionError: msgspec's own depth limit, far deeper than the contract's 32.
        raise HTTPException(status_code=400, detail=problems.MALFORMED_JSON) from None
    return document


_NO_BODY = object()


def _parse_form(body: bytes) -> dict[str, Any]:
    """Linear in the body's size, repeated fields included (a 1 MiB form is parsed before the
    caller is known)."""
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise HTTPException(status_code=400, detail=problems.MALFORMED_FORM) from None
    grouped: dict[str, list[str]] = {}
    for key, item in pairs:
        grouped.setdefault(key, []).append(item)
    # A repeated field is a list, which no form field accepts (invalid_type).
    return {key: items[0] if len(items) == 1 else items for key, items in grouped.items()}


# ----------------------------------------------------------------------- value validation


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(type, Meta list) of `Annotated[T, Meta(...)] | None | UnsetType` → the non-null arm."""
    metas: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            metas.extend(m for m in annotation.__metadata__ if isinstance(m, msgspec.Meta))
            annotation = annotation.__origin__
        elif origin in (typing.Union, types.UnionType):
            arms = [
                a for a in typing.get_args(annotation) if a not in (type(None), msgspec.UnsetType)
            ]
            if len(arms) != 1:
                return annotation, metas
            annotation = arms[0]
        else:
            return annotation, metas


def _list_item(annotation: Any) -> Any | None:
    """The item annotation when `annotation` is a list type, else None."""
    bare, _ = _unwrap(annotation)
    if typing.get_origin(bare) is list:
        return typing.get_args(bare)[0]
    return None


def value_errors(value: Any, annotation: Any, loc: Loc, *, strict: bool) -> list[dict[str, Any]]:
    """Every violation of one value. msgspec stops at the first; a list is checked item by
    item so that each bad element is reported (`["query", "status", 2]`)."""
    item = _list_item(annotation)
    if item is not None and isinstance(value, list):
        return _list_errors(value, annotation, item, loc, strict=strict)
    bare, metas = _unwrap(annotation)
    if isinstance(value, str) and (kind := _refused_text(value, bare, strict=strict)):
        return [field_error(loc, kind, f"Input should be a valid {bare.__name__}")]
    if isinstance(value, str) and not strict and bare in _URL_SCALARS:
        value = _URL_SCALARS[bare](value)  # msgspec's lax parser refuses `003`
    try:
        msgspec.convert(value, annotation, strict=strict)
    except msgspec.ValidationError as exc:
        return _errors_from(exc, loc, parsing=not strict)
    if isinstance(value, str) and not all(
        inputs.fullmatch(meta.pattern, value) for meta in metas if meta.pattern is not None
    ):
        return [field_error(loc, "string_pattern_mismatch", "String should match the pattern")]
    return []


def _list_errors(
    value: list[Any], annotation: Any, item: Any, loc: Loc, *, strict: bool
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    for index, element in enumerate(value):
        errors.extend(value_errors(element, item, [*loc, index], strict=strict))
    _, metas = _unwrap(annotation)
    limit = min((m.max_length for m in metas if m.max_length is not None), default=None)
    if limit is not None and len(value) > limit:
        errors.append(field_error(loc, "too_long", f"List should have at most {limit} items"))
    if not errors and _unique_items(annotation):
        converted = msgspec.convert(value, annotation, strict=strict)
        if len(set(converted)) != len(converted):
            return [field_error(loc, "not_unique", "List items must be unique")]
    return errors


# Scalars of the URL (query, path) and the contract's parsers for them (shared.inputs).
_URL_SCALARS = {int: inputs.parse_int, bool: inputs.parse_bool}


def canonical_query(request: Request[Any, Any, Any], spec: RequestSpec) -> bytes | None:
    """The query string with every integer a validated request spells otherwise than msgspec's
    lax parser reads it (`limit=003`, which the contract accepts) respelled, or None when
    Litestar can read the query as it is."""
    integers = {p.name for p in spec.parameters if p.location == "query" and p.scalar is int}
    pairs = request.query_params.multi_items()
    respelled = [
        (name, str(inputs.parse_int(value)) if name in integers else value) for name, value in pairs
    ]
    if respelled == pairs:
        return None
    return urlencode(respelled).encode()


def _refused_text(value: str, bare: Any, *, strict: bool) -> str | None:
    """The error type for a string msgspec would accept and the contract does not: a UUID not
    in the canonical form (msgspec takes 32 digits without hyphens), or a query/path boolean
    other than `true`/`false` (msgspec's lax mode takes `1`, `0`, `True`, ...)."""
    if bare is uuid.UUID and inputs.parse_uuid(value) is None:
        return "uuid_parsing"
    if bare is bool and not strict and inputs.parse_bool(value) is None:
        return "bool_parsing"
    if bare is int and not strict and inputs.parse_int(value) is None:
        return "int_parsing"
    return None


def _unique_items(annotation: Any) -> bool:
    _, metas = _unwrap(annotation)
    return any((m.extra or {}).get("unique_items") for m in metas)


# ----------------------------------------------------------- msgspec messages → contract types

_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_LENGTH = re.compile(r"^Expected `(\w+)[^`]*` of length ([<>]=)")
_BOUND = re.compile(r"^Expected `(?:int|float)[^`]*` ([<>]=)")
_WRONG_TYPE = re.compile(r"^Expected `([^`]*)`, got `")


def _split(message: str) -> tuple[str, Loc]:
    """msgspec's "<text> - at `$.a[1]`" → ("<text>", ["a", 1])."""
    text, _, where = message.partition(" - at `$")
    path: Loc = []
    for name, index in _PATH_PART.findall(where.rstrip("`")):
        path.append(int(index) if index else name)
    return text, path


def _classify(text: str, *, parsing: bool) -> str:
    """The DECISIONS.md type of one msgspec message. `parsing`: the value came as a string
    from the URL (query/path), where a non-number is `int_parsing` rather than a wrong type."""
    if text.startswith("Object missing required field"):
        return "missing"
    if text.startswith("Object contains unknown field"):
        return "extra_forbidden"
    if text.startswith("Invalid enum value"):
        return "enum"
    if text == "Invalid UUID":
        return "uuid_parsing"
    if text.startswith("Invalid") and "date" in text:
        return "date_parsing"
    if "matching regex" in text:
        return "string_pattern_mismatch"
    if match := _LENGTH.match(text):
        kind, op = match.groups()
        if kind == "str":
            return "string_too_short" if op == ">=" else "string_too_long"
        return "too_long"
    if match := _BOUND.match(text):
        return "greater_than_equal" if match.group(1) == ">=" else "less_than_equal"
    if match := _WRONG_TYPE.match(text):
        expected = match.group(1)
        if parsing:
            for prefix, kind in (
                ("int", "int_parsing"),
                ("bool", "bool_parsing"),
                ("uuid", "uuid_parsing"),
                ("date", "date_parsing"),
            ):
                if expected.startswith(prefix):
                    return kind
    return "invalid_type"


def _errors_from(exc: msgspec.ValidationError, loc: Loc, *, parsing: bool = False) -> list[dict]:
    text, path = _split(str(exc))
    if text.startswith(("Object missing required field", "Object contains unknown field")):
        path.append(text.rsplit("`", 2)[-2])  # the field the message names
    return [field_error([*loc, *path], _classify(text, parsing=parsing), text)]


# ------------------------------------------------- Litestar's own ValidationException (fallback)


def _parameter_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[dict]:
    """Litestar's `extra` ({key, message, source}) → the contract's errors. Only reached if
    something validate_request let through fails Litestar's signature model after all."""
    messages = exc.extra if isinstance(exc.extra, list) else []
    errors: list[dict[str, Any]] = []
    for message in messages:
        key = str(message.get("key", ""))
        source = message.get("source") or "query"
        source = str(getattr(source, "value", source))  # a ParamType member, or "body"
        text, path = _split(str(message.get("message", "")))
        loc: Loc = ["body", *key.split(".")[:1]] if source == "body" and key else [source, key]
        errors.append(field_error([*loc, *path], _classify(text, parsing=source != "body"), text))
    return errors or [field_error(["body"], "invalid_type", "Invalid request")]


def _litestar_validation_failed(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    return problem_response(422, errors=_parameter_errors(request, exc))


exception_handlers: ExceptionHandlersMap = {ValidationException: _litestar_validation_failed}
