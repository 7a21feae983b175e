"""Conditional requests (RFC 9110 §13): `ETag` out, `If-None-Match` (304) and `If-Match` (412)
in, and how the operations that take them document them.

The ETag is a strong validator of the representation the caller receives (contract 1.1,
contract/DECISIONS.md "Wire format"): shared.httputil.representation_etag over the serializer's
output — the JSON values the client will parse — so it changes with `comment_count`,
`task_counts` and `my_role`, and equals the other implementations' ETag for equal JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import PreconditionFailed
from shared.httputil import if_match_fails, if_none_match_hits, representation_etag


def representation_response(data: Any, *, location: str | None = None) -> Response:
    """A project's or task's representation with its ETag; a 201 with `Location` when created."""
    headers = {"ETag": representation_etag(data)}
    if location is None:
        return Response(data, headers=headers)
    return Response(data, status=201, headers={**headers, "Location": location})


def conditional_response(request: Request, data: Any) -> Response:
    """304 with the ETag and no body when If-None-Match matches the representation's ETag,
    else the representation (getProject, getTask)."""
    etag = representation_etag(data)
    if if_none_match_hits(request.headers.get("If-None-Match"), etag):
        return Response(status=304, headers={"ETag": etag})
    return Response(data, headers={"ETag": etag})


class IfMatch:
    """The `If-Match` of a write, checked by the service with the row locked — after the
    references, before any change (contract/DECISIONS.md, "Locks") — against the representation
    the caller would get now. `representation` reads it (only when the header was sent)."""

    def __init__(self, header: str | None, representation: Callable[[], Any]) -> None:
        self.header = header
        self.representation = representation

    def check(self) -> None:
        """412 unless the header is absent or matches the current representation's ETag."""
        if self.header is None:
            return
        if if_match_fails(self.header, representation_etag(self.representation())):
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
