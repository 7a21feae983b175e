"""The README's concern map is true: every file it names exists (no server needed).

The map is the markdown table under `## Concern map`: a header `| concern | FastAPI | Litestar
| Flask | DRF |` (each implementation column is the directory `impl_<name lowercased>/`), then
one row per concern whose cells hold one or more backticked names, with words around them.

Which backticked names are paths: those with a `/` or ending in `.py` (`create_app()`,
`shared.settings` or `transaction.atomic` are code, not files). A path is relative to the
column's `impl_<name>/` unless it starts with `shared/` or `impl_` (then it is relative to the
repository root). A path ending in `/` must be a directory, any other path must exist.

`<resource>` stands for each resource of the contract: its operation tags (auth, users,
projects, members, labels, tasks, comments, activity), with `operations` spelled `health`. For
`dir/<resource>.py` the map promises one module per resource in `dir/`, so:
- `dir/` exists and holds at least one resource module;
- every module in `dir/` is a resource module, unless it is `__init__.py` or the same cell names
  it too (`views/base.py`): nothing else hides behind the template;
- in the routes/views row every resource has its module, because every contract operation has a
  handler. Other rows (the use cases) need not cover every resource: `health` has no use case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from support.contract import Contract
from support.servers import REPO_ROOT

RESOURCE = "<resource>"
REQUIRED_CONCERNS = ("authorization", "request validation")


@dataclass(frozen=True)
class Cell:
    concern: str
    column: str  # the header: FastAPI, Litestar, ...
    text: str

    @property
    def paths(self) -> list[str]:
        names = re.findall(r"`([^`]+)`", self.text)
        return [
            n for n in names if re.fullmatch(r"[\w.<>/-]+", n) and ("/" in n or n.endswith(".py"))
        ]


def _cells_of(line: str) -> list[str]:
    """The cells of a markdown table row (`\\|` is a literal bar)."""
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [cell.strip() for cell in cells[1:-1]]


def concern_map(markdown: str) -> tuple[list[str], list[list[Cell]]]:
    """(implementation column headers, one list of cells per concern) of the map's table."""
    section = markdown.split("\n## Concern map", 1)
    assert len(section) == 2, "the README has no `## Concern map` section"
    lines = section[1].split("\n## ", 1)[0].splitlines()
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("|")]
    assert starts, "the concern map has no table"
    table = []
    for line in lines[starts[0] :]:
        if not line.lstrip().startswith("|"):
            break  # the first table of the section is the map
        table.append(line)
    header, rule, *body = table
    columns = _cells_of(header)
    assert columns[0].lower() == "concern", columns
    assert set(rule.replace("|", "").strip()) <= set("-: "), rule
    rows = []
    for line in body:
        concern, *cells = _cells_of(line)
        assert len(cells) == len(columns) - 1, f"row {concern!r} has {len(cells)} cells"
        rows.append(
            [Cell(concern, column, text) for column, text in zip(columns[1:], cells, strict=True)]
        )
    return columns[1:], rows


def contract_resources() -> list[str]:
    tags = [tag["name"] for tag in Contract.load().document["tags"]]
    return ["health" if tag == "operations" else tag for tag in tags]


def _base(column: str, path: str, root: Path) -> Path:
    if path.startswith(("shared/", "impl_")):
        return root / path
    return root / f"impl_{column.lower()}" / path


def problems_with(cell: Cell, root: Path, resources: list[str]) -> list[str]:
    """What is untrue about the paths one cell names."""
    found = []
    where = f"{cell.concern!r} / {cell.column}"
    for path in cell.paths:
        target = _base(cell.column, path, root)
        if RESOURCE not in path:
            if not (target.is_dir() if path.endswith("/") else target.exists()):
                found.append(f"{where}: {target.relative_to(root)} does not exist")
            continue
        directory, pattern = target.parent, target.name
        if RESOURCE in str(directory.relative_to(root)) or not pattern.endswith(".py"):
            found.append(f"{where}: {path}: only `dir/<resource>.py` is understood")
            continue
        if not directory.is_dir():
            found.append(f"{where}: {directory.relative_to(root)}/ does not exist")
            continue
        expected = {pattern.replace(RESOURCE, resource) for resource in resources}
        named = {_base(cell.column, p, root).name for p in cell.paths if RESOURCE not in p}
        present = {module.name for module in directory.glob("*.py")}
        if not present & expected:
            found.append(f"{where}: {directory.relative_to(root)}/ has no resource module")
        strays = sorted(present - expected - named - {"__init__.py"})
        if strays:
            found.append(f"{where}: {directory.relative_to(root)}/ also holds {strays}")
        if cell.concern.lower().startswith("routes"):
            missing = sorted(expected - present)
            if missing:
                found.append(f"{where}: no handler module {missing}")
    return found


def _readme_map() -> tuple[list[str], list[list[Cell]]]:
    return concern_map((REPO_ROOT / "README.md").read_text(encoding="utf-8"))


def test_every_file_the_concern_map_names_exists() -> None:
    columns, rows = _readme_map()
    for column in columns:
        assert (REPO_ROOT / f"impl_{column.lower()}").is_dir(), f"column {column}: no impl_ dir"
    cells = [cell for row in rows for cell in row]
    assert len(rows) >= 10 and all(
        any(cell.paths for cell in cells if cell.column == column) for column in columns
    ), "the map was not read: too few rows, or a column without a single path"
    resources = contract_resources()
    found = [problem for cell in cells for problem in problems_with(cell, REPO_ROOT, resources)]
    assert not found, "the README's concern map is not true:\n" + "\n".join(found)


def test_concern_map_has_authorization_and_request_validation_rows() -> None:
    """Issue 11: both concerns have a home in every implementation, and the map names it."""
    columns, rows = _readme_map()
    for required in REQUIRED_CONCERNS:
        matching = [row for row in rows if row[0].concern.lower().startswith(required)]
        assert matching, f"the concern map has no {required!r} row"
        for cell in matching[0]:
            assert cell.paths, f"{required!r}: no file named for {cell.column}"
