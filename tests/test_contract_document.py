"""contract/openapi.yaml itself: a valid OpenAPI 3.1 document, complete in the ways the suite
and the implementations rely on. No server needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from support.contract import REASON_PHRASES, Contract, json_pointer
from support.servers import REPO_ROOT

REQUEST_BODY_MEDIA_TYPES = {"application/json", "application/x-www-form-urlencoded"}


def _walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _operations(contract: Contract) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for template, item in contract.document["paths"].items():
        item, _ = contract.deref(item, json_pointer(["paths", template]))
        for method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
            if method in item:
                yield template, method, item, item[method]


def _parameters(contract: Contract, item: dict[str, Any], op: dict[str, Any]) -> list[dict]:
    found = []
    for param in [*item.get("parameters", []), *op.get("parameters", [])]:
        found.append(contract.deref(param, "")[0])
    return found


def test_is_a_valid_openapi_3_1_document(contract: Contract) -> None:
    errors = [
        f"{json_pointer(e.absolute_path) or '/'}: {e.message[:300]}"
        for e in OpenAPIV31SpecValidator(contract.document).iter_errors()
    ]
    assert not errors, "contract/openapi.yaml is not valid OpenAPI 3.1:\n" + "\n".join(errors)


def test_every_ref_resolves(contract: Contract) -> None:
    unresolved = []
    for path, node in _walk(contract.document):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                contract.resolver.lookup(node["$ref"])
            except Exception as exc:  # noqa: BLE001 - report every bad ref, whatever the cause
                unresolved.append(f"{json_pointer(path)}: {node['$ref']} ({exc})")
    assert not unresolved, "unresolvable $refs:\n" + "\n".join(unresolved)


def test_operations_are_complete(contract: Contract) -> None:
    problems: list[str] = []
    seen_ids: dict[str, str] = {}
    root_security = bool(contract.document.get("security"))
    for template, method, item, op in _operations(contract):
        where = f"{method.upper()} {template}"
        operation_id = op.get("operationId")
        if not operation_id:
            problems.append(f"{where}: no operationId")
        elif operation_id in seen_ids:
            problems.append(f"{where}: operationId {operation_id} also on {seen_ids[operation_id]}")
        else:
            seen_ids[operation_id] = where
        responses = set(op.get("responses", {}))
        if "default" in responses:
            problems.append(f"{where}: a `default` response hides undocumented statuses")
        params = _parameters(contract, item, op)
        secured = bool(op["security"]) if "security" in op else root_security
        required = {"500": "every operation"}
        if secured:
            required["401"] = "it requires a token"
        if params or "requestBody" in op:
            required["422"] = "it has parameters or a body"
        if any(p.get("in") == "path" for p in params):
            required["404"] = "it has path parameters"
        if "requestBody" in op:
            required["413"] = "it has a body"
            required["415"] = "it has a body"
        problems += [
            f"{where}: does not document {status} ({why})"
            for status, why in required.items()
            if status not in responses
        ]
        path_names = {p["name"] for p in params if p.get("in") == "path"}
        in_template = {part[1:-1] for part in template.split("/") if part.startswith("{")}
        if path_names != in_template:
            problems.append(
                f"{where}: path parameters {sorted(path_names)} != template {sorted(in_template)}"
            )
    assert not problems, "\n".join(problems)


def test_request_bodies_reject_unknown_fields(contract: Contract) -> None:
    problems = []
    for template, method, _, op in _operations(contract):
        if "requestBody" not in op:
            continue
        body, _ = contract.deref(op["requestBody"], "")
        for media_type, content in body.get("content", {}).items():
            where = f"{method.upper()} {template} {media_type}"
            if media_type not in REQUEST_BODY_MEDIA_TYPES:
                problems.append(f"{where}: unexpected request media type")
            schema, _ = contract.deref(content.get("schema", {}), "")
            for path, node in _walk(schema):
                node, _ = contract.deref(node, "") if isinstance(node, dict) else (node, "")
                is_object = isinstance(node, dict) and (
                    node.get("type") == "object" or "properties" in node
                )
                if is_object and node.get("additionalProperties") is not False:
                    problems.append(
                        f"{where} at {json_pointer(path) or '/'}: object schema "
                        f"without additionalProperties: false"
                    )
    assert not problems, "\n".join(problems)


def _examples(contract: Contract) -> Iterator[tuple[str, str, Any]]:
    """(where, JSON pointer of the schema, example value) for every example in the document."""
    doc = contract.document
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        for index, example in enumerate(schema.get("examples", [])):
            yield (
                f"components/schemas/{name} examples[{index}]",
                json_pointer(["components", "schemas", name]),
                example,
            )
    for path, node in _walk(doc):
        if not isinstance(node, dict) or "schema" not in node or not path:
            continue
        pointer = json_pointer(path)
        # Media type objects (under `content`), parameters and headers carry examples too.
        if "example" in node:
            yield f"{pointer} example", f"{pointer}/schema", node["example"]
        if path[-2:-1] == ("content",):
            for key, example in (node.get("examples") or {}).items():
                example, _ = contract.deref(example, "")
                if "value" in example:
                    yield f"{pointer} examples/{key}", f"{pointer}/schema", example["value"]


def test_examples_validate_against_their_schemas(contract: Contract) -> None:
    examples = list(_examples(contract))
    assert len(examples) >= 10, "expected the contract to carry examples"
    problems = []
    for where, schema_pointer, value in examples:
        problems += [f"{where}: {error}" for error in contract.schema_errors(schema_pointer, value)]
    assert not problems, "examples that do not validate:\n" + "\n".join(problems)


def _listed_titles(sentence: str) -> dict[int, str]:
    return {
        int(code): title for code, title in re.findall(r"(\d{3}) ([A-Z][A-Za-z ]*[a-z])", sentence)
    }


def test_the_suites_problem_titles_are_the_contracts(contract: Contract) -> None:
    """support.contract.REASON_PHRASES (what every problem's `title` is checked against) is
    exactly the list in contract/DECISIONS.md ("Errors") and in contract/openapi.yaml's
    description, and every problem example in the contract agrees with it."""
    decisions = (REPO_ROOT / "contract" / "DECISIONS.md").read_text(encoding="utf-8")
    in_decisions = re.search(r"`title` is the RFC 9110 reason phrase:(.*?)\.\n", decisions, re.S)
    in_openapi = re.search(r"Titles:(.*?)\.\s", contract.document["info"]["description"], re.S)
    assert in_decisions and in_openapi, "the contract no longer lists the problem titles"
    assert _listed_titles(in_decisions.group(1)) == REASON_PHRASES
    assert _listed_titles(in_openapi.group(1)) == REASON_PHRASES
    examples = [
        (name, media["example"])
        for name, response in contract.document["components"]["responses"].items()
        for media_type, media in response.get("content", {}).items()
        if media_type == "application/problem+json" and "example" in media
    ]
    assert len(examples) >= 8
    wrong = [
        f"{name}: {example['status']} {example['title']!r}"
        for name, example in examples
        if REASON_PHRASES.get(example["status"]) != example["title"]
    ]
    assert not wrong, wrong


@pytest.mark.parametrize(
    "operation_id",
    [
        "createToken",
        "getMe",
        "createUser",
        "listUsers",
        "getUser",
        "createProject",
        "listProjects",
        "getProject",
        "updateProject",
        "deleteProject",
        "listMembers",
        "putMember",
        "removeMember",
        "listLabels",
        "createLabel",
        "deleteLabel",
        "createTask",
        "listTasks",
        "getTask",
        "updateTask",
        "deleteTask",
        "listComments",
        "createComment",
        "updateComment",
        "deleteComment",
        "listActivity",
        "getHealth",
        "getReadiness",
    ],
)
def test_core_operation_is_in_the_contract(contract: Contract, operation_id: str) -> None:
    contract.operation(operation_id)


@pytest.mark.parametrize(
    "operation_id",
    ["streamProjectEvents", "listNotifications", "markNotificationRead", "askAssistant"],
)
def test_live_operation_is_in_the_contract(contract: Contract, operation_id: str) -> None:
    contract.operation(operation_id)


def test_streams_document_their_events(contract: Contract) -> None:
    """Contract 1.2: a `text/event-stream` body is a string to OpenAPI 3.1; `x-sse-events` names
    each event and the schema of its `data` JSON, and the response says `X-Accel-Buffering`."""
    streams = []
    for template, method, _, op in _operations(contract):
        for status, response in op["responses"].items():
            response, _ = contract.deref(response, "")
            media = response.get("content", {}).get("text/event-stream")
            if media is None:
                continue
            where = f"{method.upper()} {template} {status}"
            streams.append(where)
            assert status == "200", where
            assert media.get("schema") == {
                "type": "string",
                "description": "Server-Sent Events, UTF-8; see the operation's description.",
            }, where
            events = media.get("x-sse-events")
            assert events and all(set(s) == {"$ref"} for s in events.values()), where
            assert "X-Accel-Buffering" in response.get("headers", {}), where
            for name in events:
                assert f"event: {name}" in media["example"] or name == "error", (where, name)
    assert streams == [
        "GET /api/v1/projects/{project_id}/events 200",
        "POST /api/v1/projects/{project_id}/assistant 200",
    ]


def test_the_webhook_is_documented(contract: Contract) -> None:
    """The taskAssigned webhook (top-level `webhooks`, outside `paths`): its body is the envelope
    migration 0006's notify_task_assigned() builds, and the Standard Webhooks headers."""
    operation = contract.document["webhooks"]["taskAssigned"]["post"]
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TaskAssignedWebhook"}
    sql = (REPO_ROOT / "shared" / "migrations" / "0006_live.sql").read_text(encoding="utf-8")
    function = sql[sql.index("CREATE FUNCTION notify_task_assigned") :]
    built = function[function.index("jsonb_build_object(") : function.index(")::text")]
    keys = set(re.findall(r"'([a-z_]+)',\s", built))
    envelope = contract.document["components"]["schemas"]["TaskAssignedWebhook"]
    notification = contract.document["components"]["schemas"]["Notification"]
    documented = (
        set(envelope["properties"])
        | set(envelope["properties"]["data"]["properties"])
        | set(notification["properties"])
        | set(contract.document["components"]["schemas"]["UserSummary"]["properties"])
    )
    assert keys == documented, (keys, documented)
