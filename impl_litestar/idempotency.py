"""Idempotent creates (contract/DECISIONS.md, "Idempotent creates"): `@idempotent_post`, the
route handler of the five creates.

A `post` route handler class that takes an optional `Idempotency-Key`:

- its format is checked with the other 422s (validation.py, through the handler's `opt`);
- `before_request`, after validation and before the dependencies that check visibility, runs
  `idempotency_begin()` (migration 0004) in the request's transaction: 409 while another
  request with the key is in flight, 422 `idempotency_key_reused` for another request, the
  stored response for the same request (a `before_request` value replaces the handler);
- `to_response` — the last step inside the request's transaction, before db.provide_db_session
  commits — stores the 2xx response's exact bytes with `idempotency_finish()`, so the row and
  the key commit together or not at all.

The flow and the fingerprint are shared.idempotency's; the documentation of the header is
`IdempotentOperation`'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Parameter, Schema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from impl_litestar.db import request_session
from impl_litestar.errors import ConflictException, RequestValidationFailed, contract_error
from impl_litestar.openapi import ContractOperation
from impl_litestar.validation import IDEMPOTENT_OPT
from shared import idempotency

_PENDING = "idempotency_pending"  # scope state: (key, fingerprint) of a request that runs

_BEGIN = text(
    "SELECT state, status, body, location, etag FROM idempotency_begin(:user_id, :key, :fp)"
)
_FINISH = text(
    "SELECT idempotency_finish(:user_id, :key, :fp, CAST(:status AS smallint), :body, "
    ":location, :etag)"
)


async def begin(request: Request[Any, Any, Any]) -> Response[bytes] | None:
    """`before_request`: the replay, a 409/422, or None (the request runs, its key pending)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return None
    # Validation has decoded this body already: it is JSON.
    body = msgspec.json.decode(await request.body())
    fingerprint = idempotency.fingerprint(request.method, request.scope["path"], body)
    session = request_session(request)
    found = (
        await session.execute(_BEGIN, {"user_id": request.user.id, "key": key, "fp": fingerprint})
    ).one()
    if found.state == "in_flight":
        raise ConflictException(detail=idempotency.IN_FLIGHT)
    if found.state == "reused":
        raise RequestValidationFailed(
            [
                contract_error(
                    list(idempotency.HEADER_LOC), "idempotency_key_reused", idempotency.REUSED
                )
            ]
        )
    if found.state == "replay":
        return _replay(found)
    request.scope["state"][_PENDING] = (key, fingerprint)
    return None


def _replay(found: Any) -> Response[bytes]:
    """The stored bytes, whichever implementation stored them; the standard headers are this
    request's own (middleware adds them)."""
    name, value = idempotency.REPLAYED_HEADER
    headers = {"Location": found.location, "ETag": found.etag, name: value}
    return Response(
        bytes(found.body),
        status_code=found.status,
        media_type=MediaType.JSON,
        headers={header: value for header, value in headers.items() if value is not None},
    )


async def finish(session: AsyncSession, request: Request[Any, Any, Any], response: Any) -> None:
    """Store a 2xx response of a pending key in the request's transaction (4xx/5xx: nothing)."""
    pending = request.scope["state"].pop(_PENDING, None)
    if pending is None or not 200 <= response.status_code < 300:
        return
    key, fingerprint = pending
    await session.execute(
        _FINISH,
        {
            "user_id": request.user.id,
            "key": key,
            "fp": fingerprint,
            "status": response.status_code,
            "body": bytes(response.body),
            "location": response.headers.get("location"),
            "etag": response.headers.get("etag"),
        },
    )


IDEMPOTENCY_KEY_PARAMETER = Parameter(
    name=idempotency.HEADER,
    param_in=ParamType.HEADER,
    required=False,
    description="Makes the create safe to retry: the same key and request within 24 hours "
    "replays the first response (`Idempotent-Replayed: true`); another request with the key "
    "→ 422 `idempotency_key_reused`; while the first is in flight → 409.",
    schema=Schema(
        type=OpenAPIType.STRING,
        min_length=1,
        max_length=idempotency.MAX_LENGTH,
        pattern=idempotency.PATTERN,
    ),
)


@dataclass
class IdempotentOperation(ContractOperation):
    """Documents the `Idempotency-Key` header, which no handler parameter declares."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY_PARAMETER]


class idempotent_post(post):  # noqa: N801 - a route handler decorator, like Litestar's `post`
    """`@post` for a create that takes an `Idempotency-Key`."""

    def __init__(self, path: str | None = None, **kwargs: Any) -> None:
        kwargs["opt"] = {**kwargs.get("opt", {}), IDEMPOTENT_OPT: True}
        kwargs["before_request"] = begin
        kwargs["operation_class"] = IdempotentOperation  # ContractOperation + the header
        super().__init__(path, **kwargs)

    async def to_response(self, app: Any, data: Any, request: Request[Any, Any, Any]) -> Any:
        response = await super().to_response(app, data, request)
        await finish(request_session(request), request, response)
        return response
