"""drf-spectacular, taught the contract: the problem responses every operation documents, and
extensions for the strict fields and serializers (closed objects: `additionalProperties:
false`; unique lists: `uniqueItems`) and the bearer scheme — plus one postprocessing hook for
what the generator cannot express from code:
- `readOnly` is dropped from response components: output serializers are read-only by nature
  (COMPONENT_SPLIT_REQUEST keeps them out of request bodies already), and the contract does not
  spell `readOnly` anywhere;
- every request body is `required: true`: a PATCH body with all-optional fields is still a
  required body (the contract answers 422 `missing` at `["body"]` when it is empty), but
  drf-spectacular derives `required` from the serializer's required fields.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from impl_drf.serializers import ProblemSerializer, ValidationProblemSerializer
from shared import idempotency
from shared.problems import PROBLEM_MEDIA_TYPE

# --------------------------------------------------------------------------- for views


def problems(*statuses: int, uses_database: bool = True) -> dict[Any, Any]:
    """`responses` entries for these problem statuses, plus those every operation has: 413 (the
    size check comes before routing the body), 500, and 503 unless it never touches the
    database (getHealth)."""
    every = {413, 500, 503} if uses_database else {413, 500}
    return {
        (status, PROBLEM_MEDIA_TYPE): OpenApiResponse(
            ValidationProblemSerializer if status == 422 else ProblemSerializer,
            description=PROBLEM_DESCRIPTIONS[status],
        )
        for status in sorted({*statuses, *every})
    }


# The five creates: the optional Idempotency-Key header (contract/DECISIONS.md, "Idempotent
# creates"); a request with a key still in flight is a 409.
IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": idempotency.MAX_LENGTH,
        "pattern": idempotency.PATTERN,
    },
    OpenApiParameter.HEADER,
    required=False,
    description="Makes the create safe to retry: the same key and request within 24 hours "
    "replays the first response (`Idempotent-Replayed: true`); another request with the key → "
    "422 `idempotency_key_reused`; while the first is in flight → 409.",
)


PROBLEM_DESCRIPTIONS = {
    400: "Bad Request — the body is not valid JSON.",
    401: "Unauthorized — token missing, malformed, forged, expired or for an unknown user.",
    403: "Forbidden — the caller's role, authorship or admin flag does not allow it.",
    404: "Not Found — does not exist, or the caller is not a member of its project.",
    409: "Conflict — duplicate email or label name, the last owner would be lost, or a request "
    "with the same Idempotency-Key is still in flight.",
    412: "Precondition Failed — `If-Match` does not match the current ETag; nothing changed.",
    413: "Content Too Large — the body is over 1 MiB.",
    415: "Unsupported Media Type — the body's `Content-Type` is not the one documented.",
    422: "Unprocessable Content — every violated field of path, query, headers and body.",
    429: "Too Many Requests — too many failed sign-ins; `Retry-After` says when to try again.",
    500: "Internal Server Error — no stack trace, SQL or class names.",
    502: "Bad Gateway — the assistant's upstream failed before anything was sent.",
    503: "Service Unavailable — the database cannot be reached, no connection was free within "
    "5 seconds, or a statement ran past 5 seconds (createToken, createUser: no password-hashing "
    "slot came free within 1 second); `Retry-After: 1`. The live part: the worker holds as many "
    "long calls (streams, assistant calls) as it may (`Retry-After: 5`); askAssistant without "
    "`LLM_BASE_URL` (no `Retry-After`).",
    504: "Gateway Timeout — the assistant's upstream did not answer within `LLM_TIMEOUT_SECONDS`.",
}


class ContractAutoSchema(AutoSchema):
    """Operations without an explicit tag are tagged by their URL's resource."""

    def get_tags(self) -> list[str]:
        return getattr(self.view, "schema_tags", None) or super().get_tags()


# --------------------------------------------------------------------------- extensions


class StrictCharFieldExtension(OpenApiSerializerFieldExtension):
    """A plain string; its length and pattern validators are added by drf-spectacular."""

    target_class = "impl_drf.fields.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return build_basic_type(OpenApiTypes.STR)


class StrictListFieldExtension(OpenApiSerializerFieldExtension):
    """An array whose `unique=True` becomes `uniqueItems`."""

    target_class = "impl_drf.fields.StrictListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.unique:
            schema["uniqueItems"] = True
        return schema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "impl_drf.security.BearerTokenAuthentication"
    name = "OAuth2PasswordBearer"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": "JWT (HS256) from `POST /api/v1/auth/token`, sent as "
            "`Authorization: Bearer <token>`.",
            "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
        }


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Request bodies reject unknown keys (impl_drf.fields.StrictSerializer); drf-spectacular
    has no notion of a closed serializer."""

    target_class = "impl_drf.fields.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema


# --------------------------------------------------------------------------- hook


def postprocess_contract(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    for schema in result.get("components", {}).get("schemas", {}).values():
        for prop in schema.get("properties", {}).values():
            prop.pop("readOnly", None)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
