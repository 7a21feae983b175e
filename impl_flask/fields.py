"""marshmallow fields and validators that speak the contract's validation vocabulary.

marshmallow reports errors as English sentences; the contract wants a closed set of error types
(`string_too_long`, `uuid_parsing`, ... — contract/DECISIONS.md). Instead of matching sentences
afterwards, every field and validator here raises an `ErrorMessage`: a `str` (so marshmallow
and webargs carry it like any message) that also knows its contract type. validation.py reads
the type; nothing ever parses the English.

The fields are also strict where marshmallow is lenient: `Boolean` takes only true/false (not
"yes" or 1), `UUID` and `Date` take only strings in a JSON body (`1` is a type error, not a
malformed value), `Date` takes only `YYYY-MM-DD`. Query and path values are strings on the
wire, so there the same fields report the parsing types (`uuid_parsing`, `int_parsing`, ...).
"""

from __future__ import annotations

import datetime as dt
import re
import typing
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import ValidationError, validate

from shared.inputs import parse_int, parse_uuid
from shared.timefmt import format_timestamp


class ErrorMessage(str):
    """A validation message that carries its contract error type."""

    type: str

    def __new__(cls, error_type: str, text: str) -> ErrorMessage:
        message = super().__new__(cls, text)
        message.type = error_type
        return message


def error(error_type: str, text: str) -> ValidationError:
    return ValidationError(ErrorMessage(error_type, text))


# ----------------------------------------------------------------------------- fields


class ContractField(ma.fields.Field):
    """Mixin: the field's marshmallow error keys mapped to contract error types, and pydantic's
    habit of reporting only the first failing constraint of a value (length before pattern)."""

    default_error_messages = {"required": "Field required", "null": "Input should not be null"}
    error_types: ClassVar[Mapping[str, str]] = {}
    _common_types: ClassVar[Mapping[str, str]] = {"required": "missing", "null": "invalid_type"}

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        text = super().make_error(key, **kwargs).messages[0]
        error_type = self.error_types.get(key) or self._common_types.get(key, "invalid_type")
        return error(error_type, str(text))

    def _validate(self, value: Any) -> None:
        for validator in self.validators:
            if validator(value) is False:
                raise self.make_error("validator_failed")


class String(ContractField, ma.fields.String):
    """A JSON string; anything else (`1`, `true`, `[]`) is `invalid_type`."""

    default_error_messages = {"invalid": "Input should be a valid string"}


class Credential(String):
    """A sign-in credential (createToken's username and password): a U+0000 in it is not a
    validation error but credentials that match no one — a failed sign-in, 401
    (contract/DECISIONS.md, "Validation error types"); validation.py skips it."""


class Enum(ContractField, ma.fields.Enum):
    """A value of one of shared.vocabulary's enums: loads the member from a JSON string (`1` is
    `invalid_type`, an unknown string `enum`), dumps a member or the plain string the ORM reads."""

    default_error_messages = {"unknown": "Input should be {choices}"}
    error_types = {"unknown": "enum"}

    def __init__(self, enum: type[StrEnum], **kwargs: Any) -> None:
        super().__init__(enum, by_value=String, **kwargs)
        self.choices_text = " or ".join(repr(member.value) for member in enum)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else self.enum(value).value


class UUID(ContractField, ma.fields.UUID):
    default_error_messages = {
        "invalid": "Input should be a string",
        "invalid_uuid": "Input should be a valid UUID",
    }
    error_types = {"invalid": "invalid_type", "invalid_uuid": "uuid_parsing"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> uuid.UUID:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        parsed = parse_uuid(value)  # the canonical 8-4-4-4-12 form only
        if parsed is None:
            raise self.make_error("invalid_uuid")
        return parsed


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Date(ContractField, ma.fields.Date):
    """`YYYY-MM-DD` only (Python's fromisoformat alone would also take `20261201`)."""

    default_error_messages = {
        "type": "Input should be a string in YYYY-MM-DD form",
        "invalid": "Input should be a valid date in YYYY-MM-DD form",
    }
    error_types = {"type": "invalid_type", "invalid": "date_parsing"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str):
            raise self.make_error("type")
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None


class Boolean(ContractField, ma.fields.Boolean):
    """A JSON boolean; marshmallow's truthy strings and numbers are type errors."""

    default_error_messages = {"invalid": "Input should be a valid boolean"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class QueryBoolean(ContractField, ma.fields.Boolean):
    """A boolean in a query string: exactly `true` or `false` (marshmallow also takes `1`,
    `yes`, `on`, ...)."""

    default_error_messages = {"invalid": "Input should be a valid boolean"}
    error_types = {"invalid": "bool_parsing"}
    _values: ClassVar[Mapping[str, bool]] = {"true": True, "false": False}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, str) and value in self._values:
            return self._values[value]
        raise self.make_error("invalid")


class QueryInteger(ContractField, ma.fields.Integer):
    """An integer in a query string: ASCII digits and an optional leading `-`, nothing else
    (Python's int() also takes other scripts' digits, `+`, spaces and `_`)."""

    default_error_messages = {"invalid": "Input should be a valid integer"}
    error_types = {"invalid": "int_parsing"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        parsed = parse_int(value) if isinstance(value, str) else None
        if parsed is None:
            raise self.make_error("invalid")
        return parsed


class List(ContractField, ma.fields.List):
    default_error_messages = {"invalid": "Input should be a valid list"}


class Timestamp(ma.fields.DateTime):
    """Output only: RFC 3339 UTC with microseconds and `Z` (shared.timefmt)."""

    def _serialize(self, value: dt.datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_timestamp(value)


class Changes(ma.fields.Dict):
    """Output only: an activity entry's `{field: [old, new]}` (openapi.py documents the pairs)."""


class Loc(ma.fields.List):
    """Output only: an error location, strings and list indexes (openapi.py documents it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ma.fields.Raw(), **kwargs)


# ----------------------------------------------------------------------------- validators
# Subclasses of marshmallow's validators, so apispec still documents them (minLength, pattern,
# enum, minimum, maxItems, ...), raising typed messages.


class Length(validate.Length):
    """String length (string_too_short / string_too_long), or a list's maximum size (too_long)."""

    def __call__(self, value: typing.Sized) -> typing.Sized:
        if isinstance(value, str):
            if self.min is not None and len(value) < self.min:
                raise error(
                    "string_too_short", f"String should have at least {self.min} characters"
                )
            if self.max is not None and len(value) > self.max:
                raise error("string_too_long", f"String should have at most {self.max} characters")
        elif self.max is not None and len(value) > self.max:
            raise error("too_long", f"List should have at most {self.max} items")
        return value


class Regexp(validate.Regexp):
    """The whole string matches (marshmallow's re.match with a `$` pattern lets a trailing
    newline through: `"#abcdef\\n"` would pass as a color)."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise error(
                "string_pattern_mismatch", f"String should match pattern '{self.regex.pattern}'"
            )
        return value


class OneOf(validate.OneOf):
    def __call__(self, value: Any) -> Any:
        if value not in self.choices:
            raise error("enum", "Input should be " + " or ".join(repr(c) for c in self.choices))
        return value


class Range(validate.Range):
    def __call__(self, value: Any) -> Any:
        if self.min is not None and value < self.min:
            raise error(
                "greater_than_equal", f"Input should be greater than or equal to {self.min}"
            )
        if self.max is not None and value > self.max:
            raise error("less_than_equal", f"Input should be less than or equal to {self.max}")
        return value


class Unique(validate.Validator):
    """No duplicate items in a list (openapi.py documents it as `uniqueItems: true`)."""

    def __call__(self, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise error("not_unique", "List items should be unique")
        return value
