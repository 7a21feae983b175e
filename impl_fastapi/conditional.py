"""Conditional requests (RFC 9110 §13): ETag out, If-Match / If-None-Match in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from shared.httputil import etag, if_none_match_hits

IfMatch = Annotated[
    str | None,
    Header(description="Proceed only if the current ETag matches (strong comparison), else 412."),
]
IfNoneMatch = Annotated[
    str | None,
    Header(description="304 with no body if the current ETag matches (weak comparison)."),
]

NOT_MODIFIED = {304: {"description": "Not Modified"}}


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def not_modified(if_none_match: str | None, version: int) -> Response | None:
    """The 304 answer when If-None-Match matches the current version, else None."""
    if not if_none_match_hits(if_none_match, version):
        return None
    return Response(status_code=304, headers={"ETag": etag(version)})
