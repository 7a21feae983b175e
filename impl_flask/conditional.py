"""ETag and If-None-Match on the wire (shared.httputil has the comparison rules)."""

from __future__ import annotations

from flask import Response, current_app

from shared.httputil import etag, if_none_match_hits


def etag_header(version: int) -> dict[str, str]:
    return {"ETag": etag(version)}


def not_modified(if_none_match: str | None, version: int) -> Response | None:
    """304 with the ETag and no body when If-None-Match matches the current version."""
    if if_none_match_hits(if_none_match, version):
        return current_app.response_class(status=304, headers=etag_header(version))
    return None
