"""Content negotiation for a JSON-only API: the renderer is always JSON, and the JSON parser
refuses what the contract calls malformed besides bad syntax."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from shared.inputs import MalformedDocument, check_document
from shared.problems import MALFORMED_JSON


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Always the view's first renderer (JSON), whatever `Accept` says: the contract has one
    representation per response, and DRF's default would answer 406 to `Accept: text/html`.
    Parser selection (request Content-Type → 415) stays DRF's."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class ContractJSONParser(JSONParser):
    """DRF's JSONParser, plus the contract's malformed documents (400, contract/DECISIONS.md
    "Errors" step 5): nesting deeper than 32 levels and unpaired surrogate escapes
    (shared.inputs.check_document). Python's json module recurses per level and raises
    RecursionError on very deep input — malformed too, never a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
            check_document(document)
        except (RecursionError, MalformedDocument):
            raise ParseError(MALFORMED_JSON) from None
        return document
