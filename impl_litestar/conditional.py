"""Conditional requests (RFC 9110 §13; contract/DECISIONS.md, "Wire format"): the ETag of a
project or task out, If-Match and If-None-Match in. The comparison rules are shared.httputil's."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar import Response
from litestar.params import Parameter

from impl_litestar.errors import PreconditionFailedException
from impl_litestar.schemas import Project, Task
from shared.httputil import etag, if_match_fails, if_none_match_hits

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

Versioned = TypeVar("Versioned", Project, Task)


def with_etag(body: Versioned, status_code: int = 200, **headers: str) -> Response[Versioned]:
    return Response(body, status_code=status_code, headers={"ETag": etag(body.version), **headers})


def not_modified(if_none_match: str | None, version: int) -> Response[Any] | None:
    """The 304 (no body, the ETag) when If-None-Match matches the current version, else None."""
    if not if_none_match_hits(if_none_match, version):
        return None
    return Response(None, status_code=304, headers={"ETag": etag(version)})


def check_if_match(if_match: str | None, version: int) -> None:
    """412 when an If-Match precondition is present and the version it names is not current;
    called under the row's lock, after the references are checked (DECISIONS.md, "Locks")."""
    if if_match_fails(if_match, version):
        raise PreconditionFailedException()
