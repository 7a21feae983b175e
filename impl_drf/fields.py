"""Strict serializer fields: the contract's typing rules, once, for every serializer.

DRF is lenient by default: a CharField turns `1` into `"1"`, a BooleanField takes `"yes"`, a
UUIDField takes an integer, a DateField takes `20261201`, a ChoiceField compares `str(value)`.
The contract says types are strict in JSON bodies (contract/DECISIONS.md, "Validation error
types"), so the body serializers use these subclasses. Query parameters are strings on the wire
and are parsed (the `*QueryField`s).

Every failure carries an error code; impl_drf.validation maps codes to the contract's
`errors[].type` in one table. Codes that DRF has no word for are named after the contract type.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import empty
from rest_framework.settings import api_settings
from rest_framework.utils import html

from shared import inputs
from shared.timefmt import format_date, format_timestamp

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class PatternValidator(RegexValidator):
    """A RegexValidator that must match the whole string: Django's uses re.search, and `$` also
    matches before a trailing newline in Python, so `"#abcdef\n"` would pass as a color. Fails
    with its own code; drf-spectacular still emits `pattern`."""

    code = "pattern_mismatch"

    def __call__(self, value: Any) -> None:
        if not self.regex.fullmatch(str(value)):
            raise DjangoValidationError(self.message, code=self.code)


class MaxItemsValidator(MaxLengthValidator):
    """MaxLengthValidator for lists, with a code of its own (`max_length` means a string)."""

    code = "max_items"


class RawValueMixin:
    """Read a form or query value exactly as sent. DRF treats `?q=` on an optional field as
    absent; the contract validates it (an empty `q` is too short, an empty `limit` no integer).
    """

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary):
            return dictionary.get(self.field_name, empty)
        return super().get_value(dictionary)


# --------------------------------------------------------------------------- JSON body fields


class StrictCharField(RawValueMixin, serializers.Field):
    """A JSON string, as given: no coercion of numbers, no whitespace trimming, and an empty
    string is just a string shorter than `min_length` (DRF's CharField has a `blank` rule
    instead, which drf-spectacular would document as an extra `minLength` or `oneOf`).

    U+0000 (which PostgreSQL text cannot store) is refused for every input at once, body, form
    and query, by impl_drf.validation — as `invalid_characters`, in place of this field's other
    errors."""

    default_error_messages = {
        "invalid_type": "Input should be a valid string.",
        "min_length": "String should have at least {min_length} characters.",
        "max_length": "String should have at most {max_length} characters.",
        "null_characters_not_allowed": "String should not contain NUL characters.",
    }

    def __init__(
        self,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_length, self.max_length, self.pattern = min_length, max_length, pattern
        if min_length is not None:
            self.validators.append(
                MinLengthValidator(
                    min_length,
                    message=self.error_messages["min_length"].format(min_length=min_length),
                )
            )
        if max_length is not None:
            self.validators.append(
                MaxLengthValidator(
                    max_length,
                    message=self.error_messages["max_length"].format(max_length=max_length),
                )
            )
        if pattern is not None:
            self.validators.append(
                PatternValidator(pattern, message=f"String should match pattern '{pattern}'.")
            )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid_type": "Input should be a valid boolean."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid_type")
        return data


class StrictChoiceField(serializers.ChoiceField):
    """One of the enum's strings; a non-string is a type error, not a missing choice."""

    default_error_messages = {"invalid_type": "Input should be a valid string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    default_error_messages = {
        "invalid_type": "UUID input should be a string.",
        "uuid_parsing": "Input should be a valid UUID.",
    }

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return parse_uuid(data, self)


class StrictDateField(serializers.DateField):
    """A `YYYY-MM-DD` string (Python's fromisoformat alone would also take `20261201`)."""

    default_error_messages = {
        "invalid_type": "Input should be a valid date string.",
        "date_parsing": "Input should be a valid date in the format YYYY-MM-DD.",
    }

    def to_internal_value(self, data: Any) -> dt.date:
        if not isinstance(data, str):
            self.fail("invalid_type")
        return parse_date(data, self)

    def to_representation(self, value: dt.date) -> str:
        return format_date(value)


class StrictListField(serializers.ListField):
    """A JSON array; `max_length` fails as `too_long`, `unique=True` rejects duplicates."""

    default_error_messages = {"not_unique": "List items should be unique."}

    def __init__(self, *, unique: bool = False, **kwargs: Any) -> None:
        self.unique = unique
        super().__init__(**kwargs)
        if self.max_length is not None:
            self.validators = [v for v in self.validators if type(v) is not MaxLengthValidator]
            self.validators.append(
                MaxItemsValidator(
                    self.max_length, message=f"List should have at most {self.max_length} items."
                )
            )

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        items = super().to_internal_value(data)
        if self.unique and len(set(items)) != len(items):
            self.fail("not_unique")
        return items


class StrictSerializer(serializers.Serializer):
    """Base of every request body: a JSON object with only the declared fields.

    Unknown fields are listed as `extra_forbidden` next to every other violation (DRF would
    drop them silently); a body that is not an object is one `invalid_type` at the body."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValidationError(
                {
                    api_settings.NON_FIELD_ERRORS_KEY: [
                        ErrorDetail("Input should be a valid object.", code="invalid_type")
                    ]
                }
            )
        errors: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            errors.update(exc.detail)
        writable = {name for name, field in self.fields.items() if not field.read_only}
        for key in data:
            if key not in writable:
                errors[key] = [
                    ErrorDetail("Extra inputs are not permitted.", code="extra_forbidden")
                ]
        if errors:
            raise ValidationError(errors)
        return value


# --------------------------------------------------------------------------- query fields


class IntegerQueryField(RawValueMixin, serializers.IntegerField):
    """An integer in a query string: ASCII digits and an optional `-` only (no `1.0`, `1_000`,
    `+5`, ` 5` or other scripts' digits, which Python's int() takes)."""

    default_error_messages = {"int_parsing": "Input should be a valid integer."}

    def to_internal_value(self, data: Any) -> int:
        value = inputs.parse_int(data) if isinstance(data, str) else None
        if value is None:
            self.fail("int_parsing")
        return value


class BooleanQueryField(RawValueMixin, serializers.BooleanField):
    """A boolean in a query string: exactly `true` or `false` (DRF's BooleanField also takes
    `1`, `yes`, `on`, `True`...; the contract does not)."""

    default_error_messages = {"bool_parsing": "Input should be a valid boolean."}
    _VALUES = {"true": True, "false": False}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, str) or data not in self._VALUES:
            self.fail("bool_parsing")
        return self._VALUES[data]


class UUIDQueryField(RawValueMixin, serializers.UUIDField):
    default_error_messages = {"uuid_parsing": "Input should be a valid UUID."}

    def to_internal_value(self, data: Any) -> uuid.UUID:
        return parse_uuid(str(data), self)


class DateQueryField(RawValueMixin, serializers.DateField):
    default_error_messages = {
        "date_parsing": "Input should be a valid date in the format YYYY-MM-DD."
    }

    def to_internal_value(self, data: Any) -> dt.date:
        return parse_date(str(data), self)


class ChoiceQueryField(RawValueMixin, serializers.ChoiceField):
    """One of the enum's values (an empty value is not one of them)."""


# --------------------------------------------------------------------------- output fields


class TimestampField(serializers.DateTimeField):
    """The one wire format of timestamps: UTC, six fractional digits, `Z`."""

    def to_representation(self, value: dt.datetime) -> str:
        return format_timestamp(value)


def parse_uuid(text: str, field: serializers.Field) -> uuid.UUID:
    """The canonical 8-4-4-4-12 form only (uuid.UUID() also takes braces, `urn:uuid:` and no
    hyphens)."""
    value = inputs.parse_uuid(text)
    if value is None:
        field.fail("uuid_parsing")
    return value


def parse_date(text: str, field: serializers.Field) -> dt.date:
    if not _DATE.fullmatch(text):
        field.fail("date_parsing")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        field.fail("date_parsing")
        raise
