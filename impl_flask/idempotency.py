"""Idempotent creates (contract/DECISIONS.md, "Idempotent creates"): createUser, createProject,
createLabel, createTask and createComment accept an `Idempotency-Key`.

`idempotent` wraps a create view between `@blp.arguments` and `@blp.response` (openapi.Blueprint
.idempotent puts it there and documents it), so it runs after validation — the header's format
is validated with the body, validation.py — and before the service checks visibility, inside the
view's one transaction (db.TransactionalView):

    idempotency_begin()  in flight → 409, another request → 422, stored → the replay
    the view             a 2xx: idempotency_finish() stores its exact bytes before the commit;
                         an error rolls everything back, the key with it
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, request
from flask_smorest import abort
from sqlalchemy import text

from impl_flask import db
from impl_flask.security import current_user
from impl_flask.validation import decoded_body
from shared.idempotency import HEADER, HEADER_LOC, IN_FLIGHT, REPLAYED_HEADER, REUSED, fingerprint

F = TypeVar("F", bound=Callable[..., Any])

_BEGIN = text(
    "SELECT state, status, body, location, etag"
    " FROM idempotency_begin(:user_id, :key, :fingerprint)"
)
_FINISH = text(
    "SELECT idempotency_finish(:user_id, :key, :fingerprint, CAST(:status AS smallint),"
    " :body, :location, :etag)"
)


def idempotent(view: F) -> F:
    @wraps(view)
    def run_once(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        session = db.session()
        request_key = {
            "user_id": current_user().id,
            "key": key,
            "fingerprint": fingerprint(request.method, request.path, decoded_body()),
        }
        state, status, body, location, etag = session.execute(_BEGIN, request_key).one()
        if state == "in_flight":
            abort(409, message=IN_FLIGHT)
        if state == "reused":
            # Built here, not with shared.problems.field_error: its ERROR_TYPES lacks the type.
            abort(
                422, errors=[{"loc": HEADER_LOC, "type": "idempotency_key_reused", "msg": REUSED}]
            )
        if state == "replay":
            return _replay(status, bytes(body), location, etag)
        response: Response = view(*args, **kwargs)
        if 200 <= response.status_code < 300:
            session.execute(
                _FINISH,
                {
                    **request_key,
                    "status": response.status_code,
                    "body": response.get_data(),
                    "location": response.headers.get("Location"),
                    "etag": response.headers.get("ETag"),
                },
            )
        return response

    return run_once  # type: ignore[return-value]


def _replay(status: int, body: bytes, location: str | None, etag: str | None) -> Response:
    """The stored response, whichever implementation stored it: status, exact body bytes,
    Location and ETag, marked as a replay."""
    headers = [REPLAYED_HEADER]
    if location is not None:
        headers.append(("Location", location))
    if etag is not None:
        headers.append(("ETag", etag))
    return current_app.response_class(
        body, status=status, headers=headers, mimetype="application/json"
    )
