"""Normalise an OpenAPI document to what the wire contract consists of, so that the document a
framework generates from code can be compared with contract/openapi.yaml (DECISIONS "Operations").

`normalise(document)` returns `{"METHOD /path": operation}` where an operation is

    {"parameters": {"<in>:<name>": {"in", "name", "required", "schema"}},
     "requestBody": {"required": bool, "content": {media type: schema}},   # if any
     "responses": {status: {media type: schema}}}                           # {} = no body

Only `paths` are read. The top-level `webhooks` (contract 1.2: the `taskAssigned` request the
server *sends* to NOTIFY_WEBHOOK_URL) are not served by anyone, and no generator emits them from
code; the webhook tests check what is sent. `components` count only through the `$ref`s of
operations.

What is normalised away, and why — everything here is spelling, not behaviour:

- `$ref`s are inlined (a framework names and splits components as it likes: FastAPI's
  `-Input`/`-Output`, drf-spectacular's `...Request`); a recursive reference is replaced by a
  `{"$recursive": ref}` marker instead of being expanded forever. `$ref` siblings (OpenAPI 3.1
  allows `description`, `default` next to a `$ref`) are merged into the referenced schema, and an
  `allOf` with a single member (the older way to put siblings next to a `$ref`) is merged into
  its parent.
- Documentation and tooling keywords are dropped: `title`, `description`, `summary`,
  `examples`, `example`, `operationId`, `tags`, `externalDocs`, `deprecated`, `default`
  (defaults are behaviour the behaviour tests check; generators disagree on whether to emit
  them), `links`, `security` (authentication is checked on the wire: 401 tests), response
  `headers` (checked on every live response by the contract validator), and `x-*` extensions.
  Property *names* are never dropped: a property called `title` is kept.
- Every spelling of "nullable" becomes one sorted `type` list: `nullable: true` (3.0),
  `type: [X, "null"]`, and `anyOf`/`oneOf` with a `{"type": "null"}` member (Pydantic, msgspec),
  whose one remaining member is merged into the parent. An `anyOf`/`oneOf` whose members are
  all bare `{"type": T}` becomes a type list too (`str | int` spelled either way). `type` is
  always a sorted list, even with one element.
- `const: X` becomes `enum: [X]` (a one-value enum, spelled either way).
- `required` lists and `enum` values are sorted; `required: []` and
  `additionalProperties: true` (the defaults) are dropped.
- Path-item level parameters are merged into each operation (flask-smorest puts path
  parameters there); header parameter names are lower-cased (HTTP header names are
  case-insensitive).
- Media types are lower-cased and lose their parameters: `text/event-stream; charset=utf-8` is
  `text/event-stream` (the charset is checked on the wire). Media type objects are reduced to
  their `schema`, so extensions next to it — the contract's `x-sse-events`, which names the
  events of a stream and the schema of each one's `data` — and `example(s)` are not compared.
  A `text/event-stream` schema is compared like any other: the contract's is `type: string`
  (OpenAPI 3.1 cannot describe the items of a stream; 3.2's `itemSchema`, which FastAPI emits,
  is not valid 3.1 and not read here).
- For a parameter that is not required, "null" is dropped from its type: an absent optional
  parameter is how Python frameworks spell `None` (`Optional[str] = None` documents
  `anyOf: [string, null]`), and a query string cannot carry a JSON null anyway.

What is kept, so it is compared: paths, methods, parameter names / locations / required /
schemas, request body required / media types / schemas, response status codes, media types and
schemas — types, formats, enums, patterns, bounds, required properties, additionalProperties,
array items and their bounds. A media type without a schema and one with the schema `{}` are
different.
"""

from __future__ import annotations

import json
from typing import Any

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DROPPED_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "summary",
        "examples",
        "example",
        "operationId",
        "tags",
        "externalDocs",
        "deprecated",
        "default",
        "links",
        "security",
        "headers",
        "nullable",  # folded into `type` before dropping
    }
)
# Keywords whose value is a schema, a list of schemas, or a map of name -> schema.
_SCHEMA_VALUED = (
    "items",
    "not",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "if",
    "then",
    "else",
)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
NO_SCHEMA = "<no schema>"


class Normaliser:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    # ------------------------------------------------------------------ refs

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def deref(self, node: Any) -> Any:
        """An OpenAPI object (parameter, response, request body) with its `$ref` followed."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            if node["$ref"] in seen:
                raise ValueError(f"circular $ref {node['$ref']}")
            seen.add(node["$ref"])
            node = self.resolve(node["$ref"])
        return node

    # ------------------------------------------------------------------ schemas

    def schema(self, schema: Any, stack: tuple[str, ...] = ()) -> Any:
        if not isinstance(schema, dict):
            return schema  # a boolean schema
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in stack:
                return {"$recursive": ref}
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            target = self.schema(self.resolve(ref), (*stack, ref))
            if not siblings:
                return target
            return self._merge(target, self.schema(siblings, stack))

        out: dict[str, Any] = {}
        for key, value in schema.items():
            if (
                key in DROPPED_KEYWORDS
                or key.startswith("x-")
                or key in ("$defs", "definitions", "$schema", "$id")
            ):
                continue
            if key in _SCHEMA_VALUED:
                out[key] = self.schema(value, stack)
            elif key in _SCHEMA_LISTS:
                out[key] = [self.schema(member, stack) for member in value]
            elif key in _SCHEMA_MAPS:
                out[key] = {name: self.schema(sub, stack) for name, sub in value.items()}
            else:
                out[key] = value

        types = out.pop("type", None)
        type_set = set(types) if isinstance(types, list) else ({types} if types else set())
        if schema.get("nullable") is True:
            type_set.add("null")

        for combinator in ("anyOf", "oneOf"):
            members = out.get(combinator)
            if members is None:
                continue
            non_null = [m for m in members if m != {"type": ["null"]}]
            if len(non_null) < len(members):
                type_set.add("null")
            if all(isinstance(m, dict) and set(m) == {"type"} for m in non_null) and non_null:
                del out[combinator]  # a union of bare types is a type list
                for member in non_null:
                    type_set.update(member["type"])
            elif len(non_null) == 1:
                del out[combinator]
                out = self._merge(out, non_null[0])
                type_set.update(out.pop("type", []))
            elif len(non_null) < len(members):
                out[combinator] = non_null

        all_of = out.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            del out["allOf"]
            out = self._merge(out, all_of[0])
            type_set.update(out.pop("type", []))

        if type_set:
            out["type"] = sorted(type_set)
        if "const" in out:
            out["enum"] = [out.pop("const")]
        if "enum" in out:
            out["enum"] = sorted(out["enum"], key=_sort_key)
        if "required" in out:
            if out["required"]:
                out["required"] = sorted(out["required"])
            else:
                del out["required"]
        if out.get("additionalProperties") is True:
            del out["additionalProperties"]
        return out

    @staticmethod
    def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        merged = dict(base)
        for key, value in extra.items():
            if key == "type" and "type" in merged:
                merged["type"] = sorted(set(merged["type"]) | set(value))
            else:
                merged[key] = value
        return merged

    # ------------------------------------------------------------------ operations

    def parameter(self, param: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        param = self.deref(param)
        name = param["name"].lower() if param.get("in") == "header" else param["name"]
        required = bool(param.get("required", False))
        schema = self.schema(param.get("schema", {}))
        if not required and isinstance(schema, dict) and "null" in schema.get("type", []):
            # An absent optional parameter is how Python frameworks spell None.
            schema = dict(schema)
            schema["type"] = [t for t in schema["type"] if t != "null"]
            if not schema["type"]:
                del schema["type"]
        return f"{param['in']}:{name}", {
            "in": param["in"],
            "name": name,
            "required": required,
            "schema": schema,
        }

    def content(self, content: dict[str, Any] | None) -> dict[str, Any]:
        return {
            _media_type(media_type): (
                self.schema(body["schema"]) if "schema" in body else NO_SCHEMA
            )
            for media_type, body in (content or {}).items()
        }

    def operation(self, path_item: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        for param in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
            key, value = self.parameter(param)
            parameters[key] = value  # operation-level wins over path-item level
        out: dict[str, Any] = {"parameters": dict(sorted(parameters.items()))}
        if "requestBody" in operation:
            body = self.deref(operation["requestBody"])
            out["requestBody"] = {
                "required": bool(body.get("required", False)),
                "content": self.content(body.get("content")),
            }
        out["responses"] = {
            str(status): self.content(self.deref(response).get("content"))
            for status, response in sorted(
                operation.get("responses", {}).items(), key=lambda item: str(item[0])
            )
        }
        return out

    def operations(self) -> dict[str, dict[str, Any]]:
        found = {}
        for path, item in (self.document.get("paths") or {}).items():
            item = self.deref(item)
            for method in HTTP_METHODS:
                if method in item:
                    found[f"{method.upper()} {path}"] = self.operation(item, item[method])
        return dict(sorted(found.items()))


def normalise(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return Normaliser(document).operations()


def _media_type(name: str) -> str:
    return name.split(";", 1)[0].strip().lower()


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def render(operation: dict[str, Any]) -> list[str]:
    """Line-based form for diffs."""
    return json.dumps(operation, sort_keys=True, indent=1).splitlines()
