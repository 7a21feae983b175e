"""Idempotent creates (contract/DECISIONS.md, "Idempotent creates"), for the views whose
`idempotent_actions` include the request's action (impl_drf.views.base.ContractViewSet).

With an `Idempotency-Key`, the whole request is one transaction (ContractViewSet.dispatch): after
validation, `begin()` asks the shared SQL function idempotency_begin (migration 0004), which takes
a transaction-level advisory lock on (caller, key) without waiting — 409 when another request
holds it — and answers with the stored response to replay, 422 `idempotency_key_reused`, or
"new". A new request runs; on a 2xx, `finish()` stores the rendered bytes in the same transaction,
before it commits, so the row and its key commit or vanish together; a 4xx/5xx rolls back and
stores nothing. The stored bytes replay through any implementation, and theirs through this one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from impl_drf.errors import Conflict, Replay
from impl_drf.validation import invalid
from shared import idempotency


@dataclass(frozen=True, slots=True)
class PendingCreate:
    """A create that ran under a new key: its 2xx response is stored by `finish()`."""

    user_id: uuid.UUID
    key: str
    fingerprint: str

    def finish(self, response: Response) -> None:
        if not 200 <= response.status_code < 300:
            return
        response.render()  # the exact bytes the client gets, stored before the commit
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT idempotency_finish(%s, %s, %s, %s::smallint, %s, %s, %s)",
                [
                    self.user_id,
                    self.key,
                    self.fingerprint,
                    response.status_code,
                    response.content,
                    response.get("Location"),
                    response.get("ETag"),
                ],
            )


def begin(request: Request, key: str, body: Any) -> PendingCreate:
    """Look the caller's key up (in the request's transaction): a replay or a refusal is raised,
    a new request gets the PendingCreate to finish."""
    user_id = request.user.id
    fingerprint = idempotency.fingerprint(request.method, request.path, body)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, status, body, location, etag FROM idempotency_begin(%s, %s, %s)",
            [user_id, key, fingerprint],
        )
        state, status, stored_body, location, etag = cursor.fetchone()
    if state == "in_flight":
        raise Conflict(idempotency.IN_FLIGHT)
    if state == "reused":
        location_name = idempotency.HEADER_LOC
        raise invalid(
            location_name[0], location_name[1], "idempotency_key_reused", idempotency.REUSED
        )
    if state == "replay":
        raise Replay(_replayed(status, bytes(stored_body), location, etag))
    return PendingCreate(user_id, key, fingerprint)


def _replayed(status: int, body: bytes, location: str | None, etag: str | None) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if location is not None:
        response["Location"] = location
    if etag is not None:
        response["ETag"] = etag
    name, value = idempotency.REPLAYED_HEADER
    response[name] = value
    return response
