"""Conditional requests (RFC 9110 §13): ETag out, If-Match / If-None-Match in.

An ETag is a strong validator of the representation the caller receives (contract 1.1): the
hash of the response body's JSON (shared.httputil.representation_etag), so it is computed from
the same Pydantic model FastAPI serializes the response with, never from a version number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response
from pydantic import BaseModel

from impl_fastapi import schemas
from impl_fastapi.errors import PreconditionFailed
from shared import orm
from shared.httputil import if_match_fails, if_none_match_hits, representation_etag

IfMatch = Annotated[
    str | None,
    Header(description="Proceed only if the current ETag matches (strong comparison), else 412."),
]
IfNoneMatch = Annotated[
    str | None,
    Header(description="304 with no body if the current ETag matches (weak comparison)."),
]

NOT_MODIFIED = {304: {"description": "Not Modified"}}


def _etag(model: type[BaseModel], value: Any) -> str:
    """`value` an ORM object, or the response model already validated (taken as it is)."""
    return representation_etag(model.model_validate(value).model_dump(mode="json"))


def project_etag(project: orm.Project) -> str:
    """Per caller: the project must have been loaded with the caller's `my_role`."""
    return _etag(schemas.Project, project)


def task_etag(task: orm.Task | schemas.Task) -> str:
    return _etag(schemas.Task, task)


def set_etag(response: Response, etag: str) -> None:
    response.headers["ETag"] = etag


def not_modified(if_none_match: str | None, etag: str) -> Response | None:
    """The 304 answer when If-None-Match matches the current representation, else None."""
    if not if_none_match_hits(if_none_match, etag):
        return None
    return Response(status_code=304, headers={"ETag": etag})


def require_match(if_match: str | None, etag: str) -> None:
    """412 when an If-Match precondition names another representation. Services call it under
    the write's lock, before changing anything."""
    if if_match_fails(if_match, etag):
        raise PreconditionFailed()
