"""Conditional requests (RFC 9110 §13): `ETag` out, `If-None-Match` (304) and `If-Match` (412)
in, and how the operations that take them document them. shared.httputil has the comparison
rules; the ETag is the strong `"<version>"` (contract/DECISIONS.md, "Wire format")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import PreconditionFailed
from shared.httputil import etag, if_match_fails, if_none_match_hits


def etag_header(version: int) -> dict[str, str]:
    return {"ETag": etag(version)}


def versioned_response(data: Any, version: int, *, location: str | None = None) -> Response:
    """A project's or task's representation with its ETag; a 201 with `Location` when created."""
    headers = etag_header(version)
    if location is None:
        return Response(data, headers=headers)
    return Response(data, status=201, headers={**headers, "Location": location})


def not_modified(request: Request, version: int) -> Response | None:
    """304 with the ETag and no body when If-None-Match matches the current version."""
    if if_none_match_hits(request.headers.get("If-None-Match"), version):
        return Response(status=304, headers=etag_header(version))
    return None


def check_if_match(if_match: str | None, version: int) -> None:
    """412 unless If-Match (when sent) matches `version`; call with the row locked, after the
    references are checked (contract/DECISIONS.md, "Locks")."""
    if if_match_fails(if_match, version):
        raise PreconditionFailed()


# --------------------------------------------------------------------------- documentation

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Proceed only if the current ETag matches (strong comparison; `*` or a list "
    "allowed), else 412 and nothing changes.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="304 with no body if the current ETag matches (weak comparison).",
)
NOT_MODIFIED = OpenApiResponse(
    description="Not Modified — `If-None-Match` matched the current ETag. No body."
)
