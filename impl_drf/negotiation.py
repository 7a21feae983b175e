"""Content negotiation for a JSON-only API: the renderer is always JSON (DRF's output, encoded
by orjson), the JSON parser refuses what the contract calls malformed besides bad syntax, and
the form parser (the token endpoint) does little work per field before anyone is
authenticated."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import orjson
from django.http import QueryDict
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, get_encoding
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

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


class ContractJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, byte for byte (compact, non-ASCII as UTF-8, U+2028 and U+2029
    escaped), with orjson encoding instead of the json module: a task page is ~1,000 JSON
    values. What orjson does not encode the way DRF's encoder does (datetimes, dataclasses,
    lazy strings, decimals...) goes to that encoder's `default`. Responses never ask for an
    indent (JSONOnlyNegotiation ignores `Accept` parameters)."""

    _OPTIONS = (
        orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    )
    _default = staticmethod(JSONEncoder().default)

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        body = orjson.dumps(data, default=self._default, option=self._OPTIONS)
        # As DRF: JSON that is also a JavaScript string literal's subset.
        return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


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


class ContractFormParser(FormParser):
    """DRF's FormParser (a QueryDict, the same keys, values and last-value-wins), with the work
    per field kept small: the token endpoint parses its form before anyone is authenticated, and
    Django's QueryDict spends microseconds per field (parse_qsl, then appendlist) — seconds for
    the 250,000 fields of a 1 MiB form of `a=1&a=1&...` (contract/DECISIONS.md: "a 1 MiB form is
    answered in well under a second"). Identical `name=value` pairs are parsed once (the last
    of each keeps its place, so the last value of a name stays the last), and a pair without
    escapes is not unquoted."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        raw = stream.read()
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            text = raw.decode("iso-8859-1")  # as Django's QueryDict does
        pairs = text.split("&")
        distinct = reversed(dict.fromkeys(reversed(pairs)))
        fields: dict[str, list[str]] = {}
        for pair in distinct:
            if not pair:
                continue
            name, _, value = pair.partition("=")
            fields.setdefault(_unquote(name, encoding), []).append(_unquote(value, encoding))
        form = QueryDict(mutable=True, encoding=encoding)
        for name, values in fields.items():
            form.setlist(name, values)
        form._mutable = False
        return form


def _unquote(text: str, encoding: str) -> str:
    if "%" in text or "+" in text:
        return unquote_plus(text, encoding=encoding, errors="replace")
    return text
