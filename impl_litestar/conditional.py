"""Conditional requests (RFC 9110 §13; contract/DECISIONS.md, "Wire format"): the ETag of a
project or task out, If-Match and If-None-Match in.

The ETag is a strong validator of the representation (contract 1.1): shared.httputil hashes the
body's canonical JSON. The body here is the response Struct as JSON values
(`msgspec.to_builtins`: uuids, dates and enums as the strings the client parses), so the tag is
the one every other implementation computes for the same JSON. The comparison rules are
shared.httputil's too."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Response
from litestar.params import Parameter

from impl_litestar.errors import PreconditionFailedException
from impl_litestar.schemas import Project, Task
from shared.httputil import if_match_fails, if_none_match_hits, representation_etag

IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match", description="Proceed only if the current ETag matches (else 412)."
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Parameter(header="If-None-Match", description="304 with no body if the current ETag matches."),
]

Representation = TypeVar("Representation", Project, Task)


def etag_of(body: Project | Task) -> str:
    return representation_etag(msgspec.to_builtins(body))


def with_etag(
    body: Representation, status_code: int = 200, **headers: str
) -> Response[Representation]:
    return Response(body, status_code=status_code, headers={"ETag": etag_of(body), **headers})


def conditional_get(if_none_match: str | None, body: Representation) -> Response[Any]:
    """A read's response: the 304 (no body, the ETag) when If-None-Match matches the
    representation the caller would get now, else the 200 with its ETag; the tag computed once."""
    etag = etag_of(body)
    if if_none_match_hits(if_none_match, etag):
        return Response(None, status_code=304, headers={"ETag": etag})
    return Response(body, headers={"ETag": etag})


def check_if_match(if_match: str | None, current: Project | Task) -> None:
    """412 when an If-Match precondition is present and does not name the representation read
    under the write's lock, before any change (DECISIONS.md, "Locks")."""
    if if_match is not None and if_match_fails(if_match, etag_of(current)):
        raise PreconditionFailedException()
