"""ETags, If-None-Match and If-Match on the wire (contract/DECISIONS.md, "Wire format").

An ETag is the hash of the representation the caller receives (shared.httputil), so it is
computed from what the response schema dumps — the body the client will parse:

- `etag` decorates a view above its `@blp.response`: it reads the body
  flask-smorest has just dumped (the same hook flask-smorest's own `@blp.etag` uses), sets
  `ETag`, and answers a GET whose If-None-Match matches with 304. (flask-smorest's `@blp.etag`
  itself hashes with SHA-1, demands If-Match on every write (428) and compares with werkzeug's
  rules, none of which the contract has.)
- `require_match` is called by the services under the write's lock, with the resource as it is
  before the change: 412 when If-Match names another representation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, current_app, request
from flask_smorest import abort
from flask_smorest.utils import get_appcontext

from impl_flask.schemas import ProjectSchema, TaskSchema
from shared.httputil import if_match_fails, if_none_match_hits, representation_etag
from shared.orm import Project, Task

F = TypeVar("F", bound=Callable[..., Any])

IF_NONE_MATCH = "If-None-Match"

# The response schema of each resource that has an ETag: its dump is the representation.
_REPRESENTATIONS: dict[type, ma.Schema] = {Project: ProjectSchema(), Task: TaskSchema()}


def etag_of(resource: Project | Task) -> str:
    """The ETag of the representation the caller would get for `resource` now."""
    return representation_etag(_REPRESENTATIONS[type(resource)].dump(resource))


def etag(view: F) -> F:
    """ETag from the dumped body; 304 (ETag, no body) when a GET's If-None-Match matches."""

    @wraps(view)
    def with_etag(*args: Any, **kwargs: Any) -> Response:
        response: Response = view(*args, **kwargs)
        current = representation_etag(get_appcontext()["result_dump"])
        if request.method in ("GET", "HEAD") and if_none_match_hits(
            request.headers.get(IF_NONE_MATCH), current
        ):
            return current_app.response_class(status=304, headers={"ETag": current})
        response.headers["ETag"] = current
        return response

    return with_etag  # type: ignore[return-value]


def require_match(if_match: str | None, resource: Project | Task) -> None:
    """412 when If-Match names another representation than `resource`'s, read under the write's
    lock (updateProject, updateTask, deleteTask), after references (DECISIONS "Locks")."""
    if if_match is not None and if_match_fails(if_match, etag_of(resource)):
        abort(412)
