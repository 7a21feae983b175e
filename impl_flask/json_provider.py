"""Flask's JSON provider (`app.json`, Flask's extension point for the JSON library), encoding with
orjson instead of the standard library's pure-Python encoder: every response body flask-smorest
dumps goes through `response` (jsonify).

Flask's semantics are kept: keys sorted (`sort_keys`), compact out of debug mode, a trailing
newline, and Flask's `default` for what it converts itself (dates and datetimes as HTTP dates:
orjson's own ISO format is passed through to it). One difference on the wire, JSON-equal: orjson
writes non-ASCII text as UTF-8, not as `\\u` escapes, as the other three implementations write
it. What orjson cannot write as the standard library would (an integer past 64 bits, a lone
surrogate, other separators or indentation) the standard library's encoder still writes."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

# Datetimes and dataclasses go to Flask's `default` (HTTP dates; asdict, then keys sorted).
_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_UNDERSTOOD = frozenset({"default", "sort_keys", "indent", "separators"})


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        encoded = self._encode(obj, kwargs)
        return super().dumps(obj, **kwargs) if encoded is None else encoded.decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        pretty = (self.compact is None and self._app.debug) or self.compact is False
        encoded = self._encode(obj, {"indent": 2} if pretty else {"separators": (",", ":")})
        if encoded is None:
            return super().response(obj)
        return self._app.response_class(encoded + b"\n", mimetype=self.mimetype)

    def _encode(self, obj: Any, kwargs: dict[str, Any]) -> bytes | None:
        """orjson's bytes, or None for what only the standard library's encoder does (other
        arguments than Flask's own, another indentation, what orjson refuses)."""
        indent = kwargs.get("indent")
        # json.dumps's own default: (", ", ": "), or (",", ": ") when indenting.
        separators = kwargs.get("separators", (",", ": ") if indent else (", ", ": "))
        if (
            not kwargs.keys() <= _UNDERSTOOD
            or indent not in (None, 2)
            or tuple(separators) != ((",", ": ") if indent else (",", ":"))
        ):
            return None
        option = _OPTIONS
        if kwargs.get("sort_keys", self.sort_keys):
            option |= orjson.OPT_SORT_KEYS
        if indent:
            option |= orjson.OPT_INDENT_2
        try:
            return orjson.dumps(obj, default=kwargs.get("default", self.default), option=option)
        except orjson.JSONEncodeError:
            return None
