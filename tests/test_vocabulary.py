"""The contract's vocabulary is said once (issue 11, "Vocabulary: say it once"): its enums live in
shared/vocabulary.py, and every implementation uses them in its framework's idiom instead of
spelling the values again. No server needed: every module under impl_*/ and shared/ is parsed
(ast), never imported.

- Exactly one class whose name contains `Role`: shared/vocabulary.py's `Role` (so no
  `HasProjectRole` permission class, no second `Role` enum).
- No module-level name ending in `PRIORITIES`, anywhere.
- Each of its enums (Role, TaskStatus, TaskPriority, TaskSort, ActivityVerb,
  ActivityTargetType, NotificationKind) has exactly the values of the contract's enum it stands
  for, in the contract's order (contract/openapi.yaml is the truth; the vocabulary says it once
  for the code).
- Outside shared/vocabulary.py, nothing re-spells the values of one of its enums: no class
  whose string members (`TODO = "todo"`, or a TextChoices' `TODO = "todo", "To do"`) have
  exactly that enum's set of values, and no tuple, list or set literal of strings with exactly
  that set (a `("low", "medium", "high", "urgent")` for a validator is the same enum written
  twice).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.contract import Contract
from support.servers import REPO_ROOT

VOCABULARY = REPO_ROOT / "shared" / "vocabulary.py"
# Each enum of the vocabulary, and where contract/openapi.yaml spells it: a schema of
# components/schemas, or (operationId, query parameter).
IN_THE_CONTRACT: dict[str, str | tuple[str, str]] = {
    "Role": "Role",
    "TaskStatus": "TaskStatus",
    "TaskPriority": "TaskPriority",
    "TaskSort": ("listTasks", "sort"),
    "ActivityVerb": "ActivityVerb",
    "ActivityTargetType": "ActivityTargetType",
    "NotificationKind": "NotificationKind",
}
ENUMS = tuple(IN_THE_CONTRACT)
# A one-value enum is still an enum of the contract (more kinds may come); every other one has
# at least two values, or the re-spelling check below would flag any lone string.
ONE_VALUE_ENUMS = {"NotificationKind"}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for directory in sorted([*REPO_ROOT.glob("impl_*/"), REPO_ROOT / "shared"]):
        for path in sorted(directory.rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(REPO_ROOT)}:{getattr(node, 'lineno', '?')}"


def _member_value(value: ast.expr) -> str | None:
    """The string a class-level assignment gives its member: `"todo"`, or `"todo"` of a
    TextChoices' `("todo", "To do")`."""
    if isinstance(value, ast.Tuple) and value.elts:
        value = value.elts[0]
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None


def _class_members(cls: ast.ClassDef) -> list[str]:
    """The string values of the class's members, in the order they are declared."""
    values = []
    for statement in cls.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            value = _member_value(statement.value)
            if value is not None:
                values.append(value)
    return values


def _class_values(cls: ast.ClassDef) -> set[str]:
    return set(_class_members(cls))


def _literal_values(node: ast.AST) -> set[str] | None:
    """The strings of a tuple, list or set literal made of string constants only."""
    if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or len(node.elts) < 2:
        return None
    if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return {e.value for e in node.elts}  # type: ignore[attr-defined]
    return None


def vocabulary_members() -> dict[str, list[str]]:
    """{enum name: its wire values in declaration order}, read from shared/vocabulary.py."""
    tree = ast.parse(VOCABULARY.read_text(encoding="utf-8"))
    found = {
        node.name: _class_members(node)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name in ENUMS
    }
    assert set(found) == set(ENUMS), f"shared/vocabulary.py defines {sorted(found)}"
    short = {name: v for name, v in found.items() if len(v) < 2 and name not in ONE_VALUE_ENUMS}
    assert not short, short
    return found


def vocabulary_values() -> dict[str, set[str]]:
    """{enum name: its set of wire values}, read from shared/vocabulary.py."""
    return {name: set(values) for name, values in vocabulary_members().items()}


def contract_enum(where: str | tuple[str, str]) -> list[str]:
    contract = Contract.load()
    if isinstance(where, str):
        return contract.document["components"]["schemas"][where]["enum"]
    operation_id, parameter = where
    operation = contract.operation(operation_id)
    item = contract.document["paths"][operation.path][operation.method.lower()]
    for param in item.get("parameters", []):
        param, _ = contract.deref(param, "")
        if param["name"] == parameter:
            return contract.deref(param["schema"], "")[0]["enum"]
    raise KeyError(where)


@pytest.mark.parametrize("name", ENUMS)
def test_each_enum_is_the_contracts(name: str) -> None:
    assert vocabulary_members()[name] == contract_enum(IN_THE_CONTRACT[name]), (
        f"shared.vocabulary.{name} differs from contract/openapi.yaml ({IN_THE_CONTRACT[name]})"
    )


def test_one_class_is_named_for_a_role() -> None:
    found = [
        (path, node)
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and "Role" in node.name
    ]
    listed = "\n".join(f"{_where(path, node)} class {node.name}" for path, node in found)
    assert [(path, node.name) for path, node in found] == [(VOCABULARY, "Role")], (
        "classes named for a role besides shared.vocabulary.Role:\n" + listed
    )


def test_no_module_level_priorities_constant() -> None:
    found = []
    for path, tree in _modules():
        for statement in tree.body:
            targets = (
                statement.targets
                if isinstance(statement, ast.Assign)
                else [statement.target]
                if isinstance(statement, ast.AnnAssign)
                else []
            )
            found += [
                f"{_where(path, statement)} {t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id.endswith("PRIORITIES")
            ]
    assert not found, "*PRIORITIES constants (TaskPriority says it once):\n" + "\n".join(found)


def test_no_module_re_spells_the_contracts_enums() -> None:
    enums = vocabulary_values()
    by_values = {frozenset(values): name for name, values in enums.items()}
    found = []
    for path, tree in _modules():
        if path == VOCABULARY:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                values, what = _class_values(node), f"class {node.name}"
            else:
                values, what = _literal_values(node), "a literal"
            name = by_values.get(frozenset(values or ()))
            if name is not None:
                found.append(f"{_where(path, node)} {what} re-spells shared.vocabulary.{name}")
    assert not found, "the contract's enums, written again:\n" + "\n".join(found)
