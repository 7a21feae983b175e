"""Authentication: a bearer JWT naming an existing user (shared.tokens).

`authenticate` is a before_request hook: it runs after routing (404/405) and the body limit
(413) but before any view parses its arguments, so an anonymous request with a bad body gets
401 (contract/DECISIONS.md, "Errors"); it receives the body of a validly signed request before
it looks the user up, so no database connection waits on a slow client (issue 13). Every route
under /api/v1 needs a token unless its view is `public`. Visibility (404) and roles (403) are
permissions.py's, after validation."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, g, request
from flask_smorest import abort

from impl_flask import db
from impl_flask.settings import API_PREFIX
from shared import problems, selects, throttle
from shared.orm import User
from shared.settings import get_settings
from shared.tokens import AccessToken, InvalidToken, bearer_token, read_token

CHALLENGE = {"WWW-Authenticate": "Bearer"}
ACCESS_TOKEN = "access_token"  # the query parameter of `query_token` views

V = TypeVar("V", bound=type)


def public(view_class: V) -> V:
    """Mark a view that needs no token (the token endpoint itself)."""
    view_class.public = True  # type: ignore[attr-defined]
    return view_class


def query_token(view_class: V) -> V:
    """Mark a view that also takes the token as the `access_token` query parameter, when no
    Authorization header is sent (streamProjectEvents: a browser EventSource sends no headers)."""
    view_class.query_token = True  # type: ignore[attr-defined]
    return view_class


def authenticate() -> None:
    if request.url_rule is None or not request.path.startswith(API_PREFIX + "/"):
        return  # unrouted (the router answers 404/405) or outside the API (probes, docs)
    view_class = getattr(current_app.view_functions.get(request.endpoint or ""), "view_class", None)
    if getattr(view_class, "public", False):
        return
    authorization = request.headers.get("Authorization")
    token = bearer_token(authorization)
    if authorization is None and getattr(view_class, "query_token", False):
        # The header wins: only without one is the query's token read (the last one given,
        # as every single-valued query parameter is).
        given = request.args.getlist(ACCESS_TOKEN)
        token = given[-1] if given and given[-1] else None
    if token is None:
        abort(401, message=problems.NOT_AUTHENTICATED, headers=CHALLENGE)
    try:
        claims = read_token(token, get_settings())
    except InvalidToken:
        abort(401, message=problems.INVALID_TOKEN, headers=CHALLENGE)
    # The lookup below begins the request's transaction, which holds a pooled connection until
    # the response: receive the body first (bytes only, at most MAX_BODY_BYTES: the 413 came
    # before), so a client that sends it slowly holds no connection meanwhile. Cached, so the
    # view's JSON or form parsing reads these bytes.
    request.get_data(cache=True)
    user = (
        db.session().execute(selects.USER_BY_ID, {"user_id": claims.user_id}).scalar_one_or_none()
    )
    if user is None:  # deleted since the token was issued
        abort(401, message=problems.INVALID_TOKEN, headers=CHALLENGE)
    g.current_user, g.access_token = user, claims


def current_user() -> User:
    return g.current_user


def current_token() -> AccessToken:
    """The request's token's claims (an event stream ends at its expiry)."""
    return g.access_token


def client_address() -> str:
    """Who is signing in, for the throttle: the socket peer (WSGI REMOTE_ADDR), or behind a
    trusted proxy the right-most X-Forwarded-For entry it did not add itself (shared.throttle)."""
    return throttle.client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), get_settings().trusted_proxies
    )
