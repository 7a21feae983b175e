"""contract/openapi.yaml as a response validator.

Every response the suite receives goes through `Contract.violations()` (see `client.py`). For a
request that matches a contract operation (method + path template) it checks:

(a) the status is documented for that operation (there is no `default` fallback);
(b) the media type of the body is the documented one (`application/json`,
    `application/problem+json`, ...); a response documented without content (204, 304) has no
    body;
(c) documented response headers (`Location`, `ETag`, `WWW-Authenticate`) are present and match
    their schema;
(d) the body validates against the documented schema (JSON Schema 2020-12) with strict formats:
    `date-time` is `YYYY-MM-DDTHH:MM:SS.ffffffZ`, `date` is a real `YYYY-MM-DD`, `uuid` is a
    canonical lower-case UUID;
(e) every response — also 404 on unknown paths, 405, CORS preflight, /docs, its assets,
    /openapi.json — carries exactly one `X-Request-ID`, `Cache-Control: no-store` and
    `X-Content-Type-Options: nosniff`, and an `Allow` header only if it is a 405 (contract 1.1).

Problem bodies are also checked for self-consistency: `status` equals the HTTP status, `title`
is the contract's reason phrase for it (`REASON_PHRASES`), `errors` appears on 422 only.

A request that matches no operation is held to contract/DECISIONS.md ("Errors", "Operations"):
unknown path → 404 problem; known path, undocumented method → 405 problem whose `Allow` lists
every contract method of the path (HEAD on a GET path may instead be answered like the GET,
without a body); `/docs` and `/openapi.json` → 200 on GET; `/docs/assets/<name>` → 200, or a 404
problem for a name that is not served; OPTIONS on a contract path → 204 without a body (a CORS
preflight, whatever its origin) or a 405 problem (a plain OPTIONS).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT_PATH = Path(__file__).resolve().parents[2] / "contract" / "openapi.yaml"
CONTRACT_URI = "urn:quartet:contract"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_MEDIA_TYPE = "application/problem+json"
EVENT_STREAM = "text/event-stream"
# Served by every implementation outside the contract's paths (DECISIONS "Operations").
EXTRA_DOCUMENTS = {"/docs": "text/html", "/openapi.json": "application/json"}
# The /docs page's Swagger UI files, served by the application itself (DECISIONS "Operations").
DOCS_ASSETS_PREFIX = "/docs/assets/"
COMMON_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
# A problem's `title` is the RFC 9110 reason phrase of its status, as contract/DECISIONS.md
# ("Errors") and contract/openapi.yaml (info, "Errors (RFC 9457)") list them. Spelled out from
# the contract, never imported from shared/: the suite holds the implementations to the contract,
# not to their own table (tests/test_contract_document.py checks both documents list exactly
# these).
REASON_PHRASES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time")
def is_wire_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("date")
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("uuid")
def _is_canonical_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


def json_pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def trim(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


@dataclass(frozen=True)
class HeaderSpec:
    name: str
    required: bool
    schema_pointer: str | None


@dataclass(frozen=True)
class ResponseSpec:
    status: str
    content: dict[str, str | None]  # media type -> JSON pointer of its schema
    headers: tuple[HeaderSpec, ...]


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the template, e.g. /api/v1/tasks/{task_id}
    operation_id: str
    pointer: str  # JSON pointer of the operation object in the contract
    responses: dict[str, ResponseSpec]
    secured: bool

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"

    @property
    def streams(self) -> bool:
        """Whether a success may be a `text/event-stream` (contract 1.2: streamProjectEvents,
        askAssistant): read it with `client.stream(...)`, or a test waits for its end."""
        return any(EVENT_STREAM in spec.content for spec in self.responses.values())


@dataclass(frozen=True)
class PathItem:
    template: str
    regex: re.Pattern[str]
    operations: dict[str, Operation] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(self.operations)


class Contract:
    """The contract document, its operations and cached schema validators."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry: Registry = Registry().with_resource(
            CONTRACT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self.resolver = self.registry.resolver(base_uri=CONTRACT_URI)
        self.paths: list[PathItem] = []
        root_security = bool(document.get("security"))
        for template, item in document.get("paths", {}).items():
            item_pointer = json_pointer(["paths", template])
            item, item_pointer = self.deref(item, item_pointer)
            path_item = PathItem(template, _template_regex(template))
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                op_pointer = f"{item_pointer}{json_pointer([method])}"
                responses = {
                    status: self._response_spec(
                        status, response, f"{op_pointer}/responses{json_pointer([status])}"
                    )
                    for status, response in op.get("responses", {}).items()
                }
                secured = bool(op["security"]) if "security" in op else root_security
                path_item.operations[method.upper()] = Operation(
                    method.upper(),
                    template,
                    op.get("operationId", "?"),
                    op_pointer,
                    responses,
                    secured,
                )
            self.paths.append(path_item)
        # Literal segments win over templated ones (/api/v1/me before /api/v1/{x}, were it so).
        self.paths.sort(key=lambda p: (p.template.count("{"), -len(p.template)))

    @classmethod
    @functools.cache
    def load(cls, path: Path = CONTRACT_PATH) -> Contract:
        with path.open(encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    # ---------------------------------------------------------------- lookups

    def deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow OpenAPI `$ref`s (responses, parameters, headers, ...) to the object itself."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise ValueError(f"circular $ref {ref} at {pointer}")
            seen.add(ref)
            node = self.resolver.lookup(ref).contents
            pointer = ref.partition("#")[2]
        return node, pointer

    def _response_spec(self, status: str, response: Any, pointer: str) -> ResponseSpec:
        response, pointer = self.deref(response, pointer)
        content = {
            mt.lower(): (
                f"{pointer}/content{json_pointer([mt])}/schema" if "schema" in body else None
            )
            for mt, body in (response.get("content") or {}).items()
        }
        headers = []
        for name, header in (response.get("headers") or {}).items():
            header_pointer = f"{pointer}/headers{json_pointer([name])}"
            header, header_pointer = self.deref(header, header_pointer)
            headers.append(
                HeaderSpec(
                    name,
                    bool(header.get("required")),
                    f"{header_pointer}/schema" if "schema" in header else None,
                )
            )
        return ResponseSpec(status, content, tuple(headers))

    def operations(self) -> list[Operation]:
        return [op for item in self.paths for op in item.operations.values()]

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations():
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    def match_path(self, path: str) -> PathItem | None:
        for item in self.paths:
            if item.regex.fullmatch(path):
                return item
        return None

    @functools.cache  # noqa: B019 - one Contract per session; validators are worth caching
    def validator(self, schema_pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{CONTRACT_URI}#{schema_pointer}"},
            registry=self.registry,
            format_checker=FORMAT_CHECKER,
        )

    def schema_errors(self, schema_pointer: str, instance: Any, limit: int = 8) -> list[str]:
        errors = sorted(
            self.validator(schema_pointer).iter_errors(instance),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        lines = [
            f"at {json_pointer(e.absolute_path) or '/'}: {trim(e.message, 300)}"
            for e in errors[:limit]
        ]
        if len(errors) > limit:
            lines.append(f"... and {len(errors) - limit} more schema errors")
        return lines

    # ---------------------------------------------------------------- the check

    def violations(
        self,
        *,
        method: str,
        path: str,
        status: int,
        headers: Any,
        body: bytes,
        body_read: bool = True,
    ) -> tuple[str, list[str]]:
        """(what the response was matched to, the contract violations found in it).

        `headers` is anything with `.get_list(name)` and `.get(name)` (httpx.Headers)."""
        method = method.upper()
        found: list[str] = []
        found += _common_header_violations(headers)
        if status != 405 and headers.get_list("allow"):
            found.append(f"Allow {headers.get('allow')!r} on a {status}: Allow is for 405 only")
        item = self.match_path(path)

        if path.startswith(DOCS_ASSETS_PREFIX) and item is None:
            where = f"{method} {path} (a /docs asset)"
            if method != "GET":
                found += self._unmatched_method(method, status, headers, body, ["GET"])
            elif status == 404:
                found += self._problem_violations(status, headers, body)
            elif status != 200:
                found.append(f"status {status}, expected 200 (or 404 for a name not served)")
            elif not body:
                found.append("a /docs asset with an empty body")
            return where, found

        if path in EXTRA_DOCUMENTS and item is None:
            where = f"{method} {path} (framework-served document)"
            if method in ("GET", "HEAD"):
                if status != 200:
                    found.append(f"status {status}, expected 200")
                elif method == "GET":
                    found += _media_type_violations(headers, body, EXTRA_DOCUMENTS[path])
            else:
                found += self._unmatched_method(method, status, headers, body, ["GET"])
            return where, found

        if item is None:
            where = f"{method} {path} (no such path in the contract)"
            if status != 404:  # a CORS preflight too (DECISIONS "Operations": the router's 404)
                found.append(f"status {status}, expected 404 for a path the contract does not have")
            found += self._problem_violations(status, headers, body)
            return where, found

        operation = item.operations.get(method)
        if operation is None and method == "HEAD" and "GET" in item.operations and status != 405:
            operation = item.operations["GET"]  # HEAD answered like GET, without a body
            body_read = False
        if operation is None:
            where = f"{method} {item.template} (method not in the contract)"
            found += self._unmatched_method(method, status, headers, body, item.methods)
            return where, found

        where = str(operation)
        spec = operation.responses.get(str(status))
        if spec is None:
            documented = ", ".join(operation.responses)
            found.append(f"status {status} is not documented (documented: {documented})")
            if status >= 400:
                found += self._problem_violations(status, headers, body)
            return where, found

        for header in spec.headers:
            values = headers.get_list(header.name)
            if not values:
                if header.required:
                    found.append(f"missing documented header {header.name}")
                continue
            if len(values) > 1:
                found.append(f"header {header.name} sent {len(values)} times: {values}")
            if header.schema_pointer:
                for error in self.schema_errors(header.schema_pointer, values[0]):
                    found.append(f"header {header.name}: {values[0]!r}: {error}")

        if not spec.content:
            if body:
                found.append(
                    f"status {status} is documented without a body, got "
                    f"{len(body)} bytes: {trim(body.decode('utf-8', 'replace'), 200)}"
                )
            return where, found
        if not body_read:
            return where, found

        expected = list(spec.content)
        actual = media_type(headers.get("content-type"))
        if actual not in spec.content:
            found.append(
                f"Content-Type {headers.get('content-type')!r}, documented: {', '.join(expected)}"
            )
            return where, found
        schema_pointer = spec.content[actual]
        if actual.endswith("json"):
            try:
                instance = json.loads(body)
            except ValueError:
                found.append(f"body is not valid JSON: {trim(body.decode('utf-8', 'replace'))}")
                return where, found
            if schema_pointer:
                found += self.schema_errors(schema_pointer, instance)
            if actual == PROBLEM_MEDIA_TYPE:
                found += _problem_consistency(status, instance)
        return where, found

    def _unmatched_method(
        self, method: str, status: int, headers: Any, body: bytes, allowed: list[str]
    ) -> list[str]:
        # OPTIONS on a contract path: a CORS preflight gets 204 with no body, from any origin
        # (contract 1.1; test_conventions checks which Access-Control-* headers come with it);
        # an OPTIONS that is no preflight is a method the contract does not have: 405.
        found: list[str] = []
        if method == "OPTIONS" and status != 405:
            if status != 204:
                found.append(f"status {status}, expected 204 for a CORS preflight (or 405)")
            if body:
                found.append(f"a {status} to OPTIONS with a {len(body)}-byte body")
            return found + self._problem_violations(status, headers, body)
        if status != 405:
            found.append(
                f"status {status}, expected 405 for a method the contract does not "
                f"have on this path"
            )
        found += self._problem_violations(status, headers, body)
        if status == 405:
            allow = {
                m.strip().upper()
                for value in headers.get_list("allow")
                for m in value.split(",")
                if m.strip()
            }
            missing = [m for m in allowed if m not in allow]
            if missing:
                found.append(f"Allow {headers.get('allow')!r} does not list {', '.join(missing)}")
        return found

    def _problem_violations(self, status: int, headers: Any, body: bytes) -> list[str]:
        if status < 400:
            return []
        actual = media_type(headers.get("content-type"))
        if actual != PROBLEM_MEDIA_TYPE:
            return [
                f"Content-Type {headers.get('content-type')!r}, expected "
                f"{PROBLEM_MEDIA_TYPE} for {status}: "
                f"{trim(body.decode('utf-8', 'replace'), 200)}"
            ]
        try:
            instance = json.loads(body)
        except ValueError:
            return [f"problem body is not valid JSON: {trim(body.decode('utf-8', 'replace'))}"]
        name = "ValidationProblem" if status == 422 else "Problem"
        found = self.schema_errors(f"/components/schemas/{name}", instance)
        return found + _problem_consistency(status, instance)


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template))
    return re.compile(pattern)


def _common_header_violations(headers: Any) -> list[str]:
    found = []
    request_ids = headers.get_list("x-request-id")
    if len(request_ids) != 1 or not request_ids[0].strip():
        found.append(f"X-Request-ID must be sent once and non-empty, got {request_ids}")
    for name, expected in COMMON_HEADERS.items():
        values = headers.get_list(name)
        if [v.strip().lower() for v in values] != [expected]:
            found.append(f"{name} must be exactly {expected!r}, got {values}")
    return found


def _media_type_violations(headers: Any, body: bytes, expected: str) -> list[str]:
    actual = media_type(headers.get("content-type"))
    if actual != expected:
        return [f"Content-Type {headers.get('content-type')!r}, expected {expected}"]
    if expected.endswith("json"):
        try:
            json.loads(body)
        except ValueError:
            return [f"body is not valid JSON: {trim(body.decode('utf-8', 'replace'))}"]
    return []


def _problem_consistency(status: int, instance: Any) -> list[str]:
    if not isinstance(instance, dict):
        return []
    found = []
    if instance.get("status") != status:
        found.append(f"problem status {instance.get('status')!r} != HTTP status {status}")
    title = REASON_PHRASES.get(status)
    if title is None:
        found.append(f"the contract names no problem title for status {status}")
    elif instance.get("title") != title:
        found.append(f"problem title {instance.get('title')!r}, expected {title!r}")
    if status == 422 and "errors" not in instance:
        found.append("a 422 problem must list `errors`")
    if status != 422 and "errors" in instance:
        found.append(f"`errors` belongs to 422 problems only (status {status})")
    return found
