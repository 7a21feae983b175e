"""Idempotent creates (contract/DECISIONS.md, "Idempotent creates"): the optional
`Idempotency-Key` header of the five creates, checked after validation and before visibility, in
the request's one transaction, by the SQL functions of migration 0004 (shared.idempotency).

The FastAPI shape: `@idempotent` under the route decorator adds an `Idempotency-Key` header
dependency to the handler's signature (documented and validated by FastAPI like every header,
its 422s listed with the others) and runs `idempotency_begin` when FastAPI calls the handler —
the first moment after validation. A replay or a refusal answers without running the handler.
ContractRoute then hands the serialized response to `store_response` while the request's
transaction is still open (FastAPI commits a function-scoped dependency after serializing), so
the exact bytes are stored before the commit, or neither is."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ParamSpec, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from impl_fastapi.db import Session
from impl_fastapi.errors import Conflict, FieldErrors, field_error
from impl_fastapi.security import CurrentUser
from shared.idempotency import (
    HEADER_LOC,
    IN_FLIGHT,
    MAX_LENGTH,
    PATTERN,
    REPLAYED_HEADER,
    REUSED,
    fingerprint,
)

_PENDING_KEY = "idempotent_create"

_BEGIN = text(
    "SELECT state, status, body, location, etag"
    " FROM idempotency_begin(:user_id, :key, :fingerprint)"
)
_FINISH = text(
    "SELECT idempotency_finish(:user_id, :key, :fingerprint, CAST(:status AS smallint),"
    " :body, :location, :etag)"
)


class IdempotentCreate:
    """One create carrying an Idempotency-Key, in the request's transaction."""

    def __init__(self, request: Request, session: AsyncSession, user_id: UUID, key: str) -> None:
        self.request = request
        self.session = session
        self.user_id = user_id
        self.key = key
        self.fingerprint = ""

    async def begin(self) -> Response | None:
        """The stored response to replay, or None: run the create (and store it after)."""
        self.fingerprint = fingerprint(
            self.request.method, self.request.url.path, await self.request.json()
        )
        row = (
            await self.session.execute(
                _BEGIN,
                {"user_id": self.user_id, "key": self.key, "fingerprint": self.fingerprint},
            )
        ).one()
        if row.state == "in_flight":
            raise Conflict(IN_FLIGHT)
        if row.state == "reused":
            raise FieldErrors([field_error(HEADER_LOC, "idempotency_key_reused", REUSED)])
        if row.state == "replay":
            headers = dict([REPLAYED_HEADER])
            if row.location is not None:
                headers["Location"] = row.location
            if row.etag is not None:
                headers["ETag"] = row.etag
            return Response(
                bytes(row.body),
                status_code=row.status,
                headers=headers,
                media_type="application/json",
            )
        setattr(self.request.state, _PENDING_KEY, self)
        return None

    async def finish(self, response: Response) -> None:
        if not 200 <= response.status_code < 300:
            return  # a failed attempt is not stored: the key can be used again
        await self.session.execute(
            _FINISH,
            {
                "user_id": self.user_id,
                "key": self.key,
                "fingerprint": self.fingerprint,
                "status": response.status_code,
                "body": bytes(response.body),
                "location": response.headers.get("location"),
                "etag": response.headers.get("etag"),
            },
        )


IdempotencyKey = Annotated[
    str | None,
    Header(
        description=(
            "Makes the create safe to retry: the same key and request within 24 hours replays "
            "the first response (`Idempotent-Replayed: true`); another request with the key → "
            "422 `idempotency_key_reused`; while the first is in flight → 409."
        ),
        min_length=1,
        max_length=MAX_LENGTH,
        pattern=PATTERN,
    ),
]


async def idempotent_create(
    request: Request, session: Session, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> IdempotentCreate | None:
    if idempotency_key is None:
        return None
    return IdempotentCreate(request, session, user.id, idempotency_key)


_IDEMPOTENCY_PARAMETER = inspect.Parameter(
    "idempotency_",
    inspect.Parameter.KEYWORD_ONLY,
    annotation=Annotated[IdempotentCreate | None, Depends(idempotent_create)],
)

P = ParamSpec("P")
R = TypeVar("R")


def idempotent(endpoint: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Response]]:
    """Make a create handler honour `Idempotency-Key` (see the module's docstring)."""

    @functools.wraps(endpoint)
    async def handler(*args: Any, idempotency_: IdempotentCreate | None, **kwargs: Any) -> Any:
        if idempotency_ is not None and (replay := await idempotency_.begin()) is not None:
            return replay
        return await endpoint(*args, **kwargs)

    signature = inspect.signature(endpoint)
    handler.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), _IDEMPOTENCY_PARAMETER]
    )
    return handler


async def store_response(request: Request, response: Response) -> None:
    """Store the create's response with its key, if the request began one (ContractRoute calls
    this with every serialized response, inside the request's transaction)."""
    pending: IdempotentCreate | None = getattr(request.state, _PENDING_KEY, None)
    if pending is not None:
        await pending.finish(response)
