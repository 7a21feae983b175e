"""Query plans of statements a server ran: replayed with EXPLAIN ANALYZE, and what they read.

A statement captured by `shared.pgproxy.CapturingProxy` is run again exactly as the server
sent it (same SQL, same parameter types, formats and raw values) under `EXPLAIN (ANALYZE,
FORMAT JSON)`, inside a transaction that is rolled back: ANALYZE executes the statement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import ExecStatus

from shared.pgproxy import Statement

_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*\n|/\*.*?\*/|\()*", re.DOTALL)


def is_select(sql: str) -> bool:
    """A query (SELECT, or WITH ... SELECT), not BEGIN, SET, SHOW, COMMIT or a write."""
    words = _LEADING_NOISE.sub("", sql, count=1).split(None, 1)
    return bool(words) and words[0].upper() in ("SELECT", "WITH")


class ReplayError(AssertionError):
    pass


@dataclass(frozen=True)
class Plan:
    statement: Statement
    root: dict[str, Any]  # EXPLAIN's "Plan" node

    def nodes(self) -> Iterator[dict[str, Any]]:
        """Every node, init plans and subplans included; each carries "Within": the name of
        the innermost subplan or init plan it belongs to (None in the main plan)."""
        stack: list[tuple[dict[str, Any], str | None]] = [(self.root, None)]
        while stack:
            node, within = stack.pop()
            within = node.get("Subplan Name", within)
            node["Within"] = within
            yield node
            stack.extend((child, within) for child in reversed(node.get("Plans", [])))

    def scans(self, relation: str) -> list[dict[str, Any]]:
        return [node for node in self.nodes() if node.get("Relation Name") == relation]


def explain(conn: psycopg.Connection, statement: Statement) -> Plan:
    """The plan the statement gets with its own parameters (`conn` in autocommit mode)."""
    pgconn = conn.pgconn
    pgconn.exec_(b"BEGIN")
    try:
        result = pgconn.exec_params(
            b"EXPLAIN (ANALYZE, FORMAT JSON) " + statement.sql.encode(),
            list(statement.param_values) or None,
            list(statement.param_types) or None,
            list(statement.param_formats) or None,
        )
        if result.status != ExecStatus.TUPLES_OK:
            message = (result.error_message or b"").decode("utf-8", "replace").strip()
            raise ReplayError(f"EXPLAIN failed: {message}\n  SQL: {statement.sql}")
        value = result.get_value(0, 0)
        assert value is not None
        return Plan(statement, json.loads(bytes(value))[0]["Plan"])
    finally:
        pgconn.exec_(b"ROLLBACK")


def rows_read(node: dict[str, Any]) -> int:
    """Rows a scan node took from its relation: those it returned and those its filter (or a
    lossy bitmap's recheck) threw away. EXPLAIN gives both per loop."""
    per_loop = (
        node.get("Actual Rows", 0)
        + node.get("Rows Removed by Filter", 0)
        + node.get("Rows Removed by Index Recheck", 0)
    )
    return round(per_loop * node.get("Actual Loops", 0))


def describe(node: dict[str, Any]) -> str:
    """One scan node, readably: what it is, what it read, and why."""
    what = node["Node Type"]
    if "Index Name" in node:
        what += f" using {node['Index Name']}"
    what += f" on {node['Relation Name']}"
    if node.get("Within"):
        what += f" (in {node['Within']})"
    loops = node.get("Actual Loops", 0)
    parts = [f"{rows_read(node):,} rows read ({node.get('Actual Rows', 0):,} returned per loop"]
    if loops != 1:
        parts.append(f" × {loops:,} loops")
    removed = node.get("Rows Removed by Filter", 0)
    if removed:
        parts.append(f", {removed:,} removed by the filter per loop")
    parts.append(")")
    lines = [f"{what}: {''.join(parts)}"]
    for key in ("Index Cond", "Recheck Cond", "Filter"):
        if key in node:
            lines.append(f"    {key}: {node[key]}")
    return "\n".join(lines)


def one_line(sql: str, head: int = 160, tail: int = 640) -> str:
    """The statement on one line; a long one keeps its start and its end (FROM ... WHERE ...
    ORDER BY ... LIMIT), the middle of a long column list gives way."""
    text = " ".join(sql.split())
    return text if len(text) <= head + tail else f"{text[:head]} … {text[-tail:]}"
