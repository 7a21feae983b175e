"""ETag, If-Match and If-None-Match on the wire (shared.httputil has the comparison rules)."""

from __future__ import annotations

from flask import Response, current_app
from flask_smorest import abort

from shared.httputil import etag, if_match_fails, if_none_match_hits


def etag_header(version: int) -> dict[str, str]:
    return {"ETag": etag(version)}


def not_modified(if_none_match: str | None, version: int) -> Response | None:
    """304 with the ETag and no body when If-None-Match matches the current version."""
    if if_none_match_hits(if_none_match, version):
        return current_app.response_class(status=304, headers=etag_header(version))
    return None


def require_match(if_match: str | None, version: int) -> None:
    """412 when If-Match names another version than the current one (updateProject, updateTask,
    deleteTask); checked under the row lock, after references (contract/DECISIONS.md, "Locks")."""
    if if_match_fails(if_match, version):
        abort(412)
