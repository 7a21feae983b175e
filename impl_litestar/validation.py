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
lists are checked element by element."""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

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
    problem_response,
)
from shared import problems
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
        await validate_request(Request(scope, receive), spec)
        await next_app(scope, receive, send)


# ------------------------------------------------------------------------- whole requests

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


class RequestSpec(msgspec.Struct, frozen=True):
    parameters: tuple[ParameterSpec, ...]
    body: BodySpec | None


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
    return RequestSpec(tuple(found.values()), body)


async def validate_request(request: Request[Any, Any, Any], spec: RequestSpec) -> None:
    """contract/DECISIONS.md "Order of checks", steps 4-6: 415, 400, then one 422 that lists
    every violation of path, query, headers and body together."""
    body = _NO_BODY if spec.body is None else await _read_body(request, spec.body)
    errors: list[dict[str, Any]] = []
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
    if spec.body is not None:
        if body is _NO_BODY:
            errors.append(field_error(["body"], "missing", "Field required"))
        else:
            errors.extend(struct_errors(body, spec.body.struct, ["body"]))
    if errors:
        raise RequestValidationFailed(errors)


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
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise HTTPException(status_code=400, detail=problems.MALFORMED_JSON) from None


_NO_BODY = object()


def _parse_form(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise HTTPException(status_code=400, detail=problems.MALFORMED_FORM) from None
    form: dict[str, Any] = {}
    for key, item in pairs:  # a repeated field becomes a list, which no form field accepts
        previous = form.get(key)
        form[key] = (
            item
            if key not in form
            else ([*previous, item] if isinstance(previous, list) else [previous, item])
        )
    return form


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
    try:
        converted = msgspec.convert(value, annotation, strict=strict)
    except msgspec.ValidationError as exc:
        item = _list_item(annotation)
        if item is None or not isinstance(value, list):
            return _errors_from(exc, loc, parsing=not strict)
        errors: list[dict[str, Any]] = []
        for index, element in enumerate(value):
            errors.extend(value_errors(element, item, [*loc, index], strict=strict))
        _, metas = _unwrap(annotation)
        limit = min((m.max_length for m in metas if m.max_length is not None), default=None)
        if limit is not None and len(value) > limit:
            errors.append(field_error(loc, "too_long", f"List should have at most {limit} items"))
        return errors or _errors_from(exc, loc, parsing=not strict)
    if (
        isinstance(converted, list)
        and _unique_items(annotation)
        and len(set(converted)) != len(converted)
    ):
        return [field_error(loc, "not_unique", "List items must be unique")]
    return []


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
