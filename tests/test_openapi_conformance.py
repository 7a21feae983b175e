"""GET /openapi.json — the document the framework generates from the code — says what
contract/openapi.yaml says (DECISIONS "Operations"), after `support.normalise` removes spelling
differences (its docstring lists exactly what is normalised away and why). Of what it drops,
operationIds and tags are compared on their own: every handler carries the contract's
operationId."""

from __future__ import annotations

import copy
import difflib

from openapi_spec_validator import validate

from support.client import ContractClient
from support.contract import Contract
from support.normalise import HTTP_METHODS, normalise, render
from support.servers import Server


def differences(
    expected: dict, actual: dict, label: str, names: dict[str, str] | None = None
) -> list[str]:
    """One block per operation that differs; `names` ({"METHOD /path": operationId}) names the
    operations missing from `actual`."""
    found = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            name = f" ({names[key]})" if names and key in names else ""
            found.append(f"--- {key}{name}: in the contract, missing from {label}")
        elif key not in expected:
            found.append(f"+++ {key}: served by {label}, not in the contract")
        elif expected[key] != actual[key]:
            found.append(
                "\n".join(
                    difflib.unified_diff(
                        render(expected[key]),
                        render(actual[key]),
                        fromfile=f"contract  {key}",
                        tofile=f"{label}  {key}",
                        lineterm="",
                        n=4,
                    )
                )
            )
    return found


def test_generated_document_is_valid_openapi(api: ContractClient) -> None:
    document = api.get("/openapi.json").json()
    assert str(document.get("openapi", "")).startswith("3."), document.get("openapi")
    validate(document)


def test_generated_document_matches_the_contract(
    api: ContractClient, contract: Contract, server: Server
) -> None:
    generated = api.get("/openapi.json").json()
    expected, actual = normalise(contract.document), normalise(generated)
    names = {
        key: operation_id for key, (operation_id, _) in _operation_labels(contract.document).items()
    }
    found = differences(expected, actual, f"{server.impl} /openapi.json", names)
    missing = [f"{names[key]} ({key})" for key in expected if key not in actual]
    assert not found, (
        f"{len(found)} operation(s) of {server.impl}'s /openapi.json differ from "
        f"contract/openapi.yaml (- contract, + generated)"
        + (f"; not served at all: {', '.join(missing)}" if missing else "")
        + ":\n\n"
        + "\n\n".join(found)
    )


def _operation_labels(document: dict) -> dict[str, tuple[str | None, list[str]]]:
    """`{"METHOD /path": (operationId, tags)}`: what `normalise` drops as documentation, but
    reviewers grep for (`grep -r getTask impl_*`) and Swagger UI groups by."""
    return {
        f"{method.upper()} {path}": (operation.get("operationId"), operation.get("tags", []))
        for path, path_item in document.get("paths", {}).items()
        for method, operation in path_item.items()
        if method in HTTP_METHODS
    }


def test_generated_operations_carry_the_contract_ids_and_tags(
    api: ContractClient, contract: Contract, server: Server
) -> None:
    generated = api.get("/openapi.json").json()
    expected, actual = _operation_labels(contract.document), _operation_labels(generated)
    wrong = [
        f"{key}: contract {expected[key]}, {server.impl} {actual.get(key)}"
        for key in sorted(expected)
        if actual.get(key) != expected[key]
    ]
    assert not wrong, "\n".join(wrong)
    assert generated.get("tags") == contract.document["tags"], (
        "top-level tags (names, order, descriptions) differ from the contract's"
    )


# ------------------------------------------------------------------ the normaliser itself


def _respelled(document: dict) -> dict:
    """The contract as a generator might spell it: nullable via anyOf, names moved, docs gone."""
    doc = copy.deepcopy(document)
    schemas = doc["components"]["schemas"]
    task = schemas["Task"]
    task["properties"]["due_date"] = {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "null"}],
        "title": "Due Date",
    }
    task["properties"]["assignee"] = {
        "oneOf": [{"$ref": "#/components/schemas/UserSummary"}, {"type": "null"}]
    }
    task["required"] = list(reversed(task["required"]))
    schemas["TaskOutput"] = schemas.pop("Task")
    doc = _rename_ref(doc, "#/components/schemas/Task", "#/components/schemas/TaskOutput")
    for path_item in doc["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.pop("description", None)
                operation["operationId"] = "generated_" + operation.get("operationId", "")
                for param in operation.get("parameters", []):
                    if "name" in param and param.get("in") == "header":
                        param["name"] = param["name"].upper()
    return doc


def _rename_ref(node: object, old: str, new: str) -> object:
    if isinstance(node, dict):
        return {
            k: (new if k == "$ref" and v == old else _rename_ref(v, old, new))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rename_ref(v, old, new) for v in node]
    return node


def test_normaliser_ignores_spelling(contract: Contract) -> None:
    assert (
        differences(
            normalise(contract.document), normalise(_respelled(contract.document)), "respelled"
        )
        == []
    )


def test_normaliser_reports_real_drift(contract: Contract) -> None:
    drifted = copy.deepcopy(contract.document)
    drifted["components"]["schemas"]["TaskCreate"]["properties"]["title"]["maxLength"] = 201
    drifted["paths"]["/api/v1/me"]["get"]["responses"].pop("401")
    del drifted["paths"]["/healthz"]
    found = differences(normalise(contract.document), normalise(drifted), "drifted")
    text = "\n".join(found)
    assert "missing from drifted" in text and "GET /healthz" in text
    assert any(
        "POST /api/v1/projects/{project_id}/tasks" in block and '+      "maxLength": 201,' in block
        for block in found
    )
    assert any("GET /api/v1/me" in block and '-  "401": {' in block for block in found)
    assert len(found) == 3


# ------------------------------------------------------------------ the live part (contract 1.2)

EVENTS = "GET /api/v1/projects/{project_id}/events"
ASSISTANT = "POST /api/v1/projects/{project_id}/assistant"


def test_normaliser_ignores_the_webhooks(contract: Contract) -> None:
    """`webhooks` describe what the server sends, not what it serves: no generated document has
    them, and their absence is no difference."""
    assert "taskAssigned" in contract.document["webhooks"]
    without = copy.deepcopy(contract.document)
    del without["webhooks"]
    assert normalise(without) == normalise(contract.document)


def test_normaliser_keeps_both_media_types_of_a_200(contract: Contract) -> None:
    operations = normalise(contract.document)
    answer = operations[ASSISTANT]["responses"]["200"]
    assert set(answer) == {"application/json", "text/event-stream"}
    assert answer["text/event-stream"] == {"type": ["string"]}
    assert answer["application/json"]["required"] == ["answer", "model", "usage"]
    assert operations[EVENTS]["responses"]["200"] == {"text/event-stream": {"type": ["string"]}}


def test_normaliser_ignores_how_a_stream_is_spelled(contract: Contract) -> None:
    """A generator's spelling of the streams: the media type with its charset, the schema
    inline without its description, no `x-sse-events`, no example; headers named in lower case."""
    respelled = copy.deepcopy(contract.document)
    for key in (EVENTS, ASSISTANT):
        method, path = key.split(" ")
        content = respelled["paths"][path][method.lower()]["responses"]["200"]["content"]
        content.pop("text/event-stream")
        content["text/event-stream; charset=utf-8"] = {"schema": {"type": "string"}}
    parameters = respelled["paths"]["/api/v1/projects/{project_id}/events"]["get"]["parameters"]
    parameters[2] = {
        "name": "last-event-id",
        "in": "header",
        "required": False,
        "schema": {
            "anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**63 - 1}, {"type": "null"}]
        },
    }
    assert differences(normalise(contract.document), normalise(respelled), "respelled") == []


def test_normaliser_reports_drift_of_a_stream(contract: Contract) -> None:
    drifted = copy.deepcopy(contract.document)
    answer = drifted["paths"]["/api/v1/projects/{project_id}/assistant"]["post"]["responses"]
    del answer["200"]["content"]["text/event-stream"]  # JSON only: the stream undocumented
    events = drifted["paths"]["/api/v1/projects/{project_id}/events"]["get"]["responses"]
    events["200"]["content"] = {"application/json": events["200"]["content"]["text/event-stream"]}
    found = differences(normalise(contract.document), normalise(drifted), "drifted")
    assert len(found) == 2, found
    assert any(ASSISTANT in block and '-   "text/event-stream": {' in block for block in found)
    assert any(EVENTS in block and '+   "application/json": {' in block for block in found)


def test_missing_operations_are_named(contract: Contract) -> None:
    """Until an implementation serves an operation, the failure says which, by operationId."""
    served = copy.deepcopy(contract.document)
    del served["paths"]["/api/v1/me/notifications"]
    names = {
        key: operation_id for key, (operation_id, _) in _operation_labels(contract.document).items()
    }
    found = differences(normalise(contract.document), normalise(served), "served", names)
    assert found == [
        "--- GET /api/v1/me/notifications (listNotifications): in the contract, missing from served"
    ]
