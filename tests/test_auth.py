"""Access tokens (createToken; contract/DECISIONS.md "Auth"): the password grant and token
verification."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from urllib.parse import urlencode

import jwt
import pytest

from support.factories import random_id
from support.paths import API, ME_URL, PROJECTS_URL, TOKEN_URL, USERS_URL
from support.problems import assert_errors, assert_problem, assert_unauthorized
from support.responses import expect, get_json
from support.servers import TEST_SECRET_KEY

SECRET_ENV = "QUARTET_TEST_SECRET_KEY"


@pytest.fixture
def server_key(server) -> str:
    """The server's SECRET_KEY: the suite's fixed test key, or QUARTET_TEST_SECRET_KEY for a
    remote server (skips when unknown)."""
    key = os.environ.get(SECRET_ENV)
    if key:
        return key
    if not server.is_remote:
        return TEST_SECRET_KEY
    pytest.skip(f"{SECRET_ENV} is not set: tokens signed with the server's key cannot be minted")


def claims_for(user_id: str, *, ttl: int = 1800, **overrides) -> dict:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# ------------------------------------------------------------------------- the password grant


@pytest.mark.smoke
def test_login_returns_a_bearer_token_for_the_user(api, make_user):
    user = make_user()
    response = api.post(TOKEN_URL, data={"username": user.email, "password": user.password})
    expect(response, 200)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800

    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user.id
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["iat"] - time.time()) < 300

    me = api.authed(body["access_token"]).get(ME_URL)
    expect(me, 200)
    assert me.json()["id"] == user.id


def test_login_accepts_grant_type_password_and_ignores_scope(api, make_user):
    user = make_user()
    response = api.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "username": user.email,
            "password": user.password,
            "scope": "anything at all",
        },
    )
    token = expect(response, 200)
    assert token["token_type"] == "bearer"
    assert get_json(api.authed(token["access_token"]), ME_URL)["id"] == user.id


@pytest.mark.smoke
def test_wrong_password_and_unknown_email_are_indistinguishable(api, make_user):
    user = make_user()
    wrong_password = api.post(
        TOKEN_URL, data={"username": user.email, "password": user.password + "x"}
    )
    unknown_email = api.post(
        TOKEN_URL,
        data={"username": f"nobody-{uuid.uuid4().hex}@example.com", "password": user.password},
    )
    for response in (wrong_password, unknown_email):
        assert_unauthorized(response)
        assert response.json()["detail"] == "Incorrect email or password"
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]


def test_login_with_another_users_password_fails(api, make_user):
    alice, bob = make_user(), make_user()
    assert_unauthorized(
        api.post(TOKEN_URL, data={"username": alice.email, "password": bob.password})
    )


@pytest.mark.parametrize(
    "content_type, content",
    [
        ("application/json", b'{"username": "a@example.com", "password": "aaaaaaaaaaaaaaaaaaaa"}'),
        ("text/plain", b"username=a@example.com&password=aaaaaaaaaaaaaaaaaaaa"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="username"\r\n\r\na@example.com\r\n'
            b'--xyz\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
            b"aaaaaaaaaaaaaaaaaaaa\r\n--xyz--\r\n",
        ),
    ],
    ids=["json", "text", "multipart"],
)
def test_token_endpoint_accepts_only_urlencoded_forms(api, content_type, content):
    response = api.post(TOKEN_URL, content=content, headers={"Content-Type": content_type})
    assert_problem(response, 415)


def test_form_credentials_are_checked_even_with_a_charset_parameter(api, make_user):
    user = make_user()
    form = urlencode({"username": user.email, "password": user.password})
    response = api.post(
        TOKEN_URL,
        content=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    token = expect(response, 200)["access_token"]
    assert get_json(api.authed(token), ME_URL)["id"] == user.id


@pytest.mark.parametrize(
    "form, expected",
    [
        (
            {"username": "a@example.com", "password": "p" * 20, "grant_type": "client_credentials"},
            [(("body", "grant_type"), "string_pattern_mismatch")],
        ),
        ({"password": "p" * 20}, [(("body", "username"), "missing")]),
        ({"username": "a@example.com"}, [(("body", "password"), "missing")]),
        (
            {"grant_type": "refresh_token"},
            [
                (("body", "username"), "missing"),
                (("body", "password"), "missing"),
                (("body", "grant_type"), "string_pattern_mismatch"),
            ],
        ),
        (
            {"username": "a@example.com", "password": "p" * 20, "client_id": "spa"},
            [(("body", "client_id"), "extra_forbidden")],
        ),
    ],
    ids=["grant_type", "no-username", "no-password", "everything-wrong", "extra-field"],
)
def test_token_form_validation(api, form, expected):
    assert_errors(api.post(TOKEN_URL, data=form), *expected)


# ------------------------------------------------------------------------- token verification


def test_valid_token_is_accepted_case_insensitive_scheme(api, make_user):
    user = make_user()
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = api.get(ME_URL, headers={"Authorization": f"{scheme} {user.token}"})
        expect(response, 200)
        assert response.json()["id"] == user.id


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer "
        + b64({"alg": "HS256", "typ": "JWT"})
        + "."
        + b64({"sub": str(uuid.uuid4())})
        + ".",
    ],
    ids=[
        "absent",
        "empty",
        "scheme-only",
        "basic",
        "other-scheme",
        "garbage",
        "three-garbage-parts",
        "unsigned-hs256",
    ],
)
def test_missing_or_malformed_credentials_are_401(api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthorized(api.get(ME_URL, headers=headers))


def test_token_signed_with_another_key_is_401(api, make_user):
    user = make_user()
    forged = jwt.encode(claims_for(user.id), "not-the-server-key-" + "x" * 40, algorithm="HS256")
    response = api.get(ME_URL, headers={"Authorization": f"Bearer {forged}"})
    assert_unauthorized(response)


def test_alg_none_token_is_401(api, make_user):
    user = make_user()
    unsigned = b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims_for(user.id)) + "."
    assert_unauthorized(api.get(ME_URL, headers={"Authorization": f"Bearer {unsigned}"}))


def test_tampered_payload_is_401(api, make_user):
    user, other = make_user(), make_user()
    header, _, signature = user.token.split(".")
    claims = jwt.decode(user.token, options={"verify_signature": False})
    claims["sub"] = other.id
    tampered = f"{header}.{b64(claims)}.{signature}"
    assert_unauthorized(api.get(ME_URL, headers={"Authorization": f"Bearer {tampered}"}))


def test_token_minted_with_the_server_key_is_accepted(api, make_user, server_key):
    """Proves the key-based tests below can fail for the right reason."""
    user = make_user()
    token = jwt.encode(claims_for(user.id), server_key, algorithm="HS256")
    response = api.get(ME_URL, headers={"Authorization": f"Bearer {token}"})
    expect(response, 200)
    assert response.json()["id"] == user.id


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "expired-by-a-second",
        "unknown-sub",
        "sub-not-uuid",
        "no-exp",
        "no-sub",
        "hs512",
    ],
)
def test_well_signed_but_invalid_tokens_are_401(api, make_user, server_key, case):
    key = server_key
    user = make_user()
    now = int(time.time())
    algorithm = "HS256"
    if case == "expired":
        claims = claims_for(user.id, iat=now - 7200, exp=now - 3600)
    elif case == "expired-by-a-second":
        claims = claims_for(user.id, iat=now - 1801, exp=now - 1)
    elif case == "unknown-sub":
        claims = claims_for(random_id())
    elif case == "sub-not-uuid":
        claims = claims_for(user.email)
    elif case == "no-exp":
        claims = {"sub": user.id, "iat": now}
    elif case == "no-sub":
        claims = {"iat": now, "exp": now + 1800}
    else:
        claims, algorithm = claims_for(user.id), "HS512"
    token = jwt.encode(claims, key, algorithm=algorithm)
    assert_unauthorized(api.get(ME_URL, headers={"Authorization": f"Bearer {token}"}))


# ------------------------------------------------------------------ every endpoint needs a token

R = "00000000-0000-4000-8000-000000000000"
PROTECTED = [
    ("GET", ME_URL),
    ("POST", USERS_URL),
    ("GET", USERS_URL),
    ("GET", f"{API}/users/{R}"),
    ("POST", PROJECTS_URL),
    ("GET", PROJECTS_URL),
    ("GET", f"{API}/projects/{R}"),
    ("PATCH", f"{API}/projects/{R}"),
    ("DELETE", f"{API}/projects/{R}"),
    ("GET", f"{API}/projects/{R}/members"),
    ("PUT", f"{API}/projects/{R}/members/{R}"),
    ("DELETE", f"{API}/projects/{R}/members/{R}"),
    ("GET", f"{API}/projects/{R}/labels"),
    ("POST", f"{API}/projects/{R}/labels"),
    ("DELETE", f"{API}/projects/{R}/labels/{R}"),
    ("GET", f"{API}/projects/{R}/tasks"),
    ("POST", f"{API}/projects/{R}/tasks"),
    ("GET", f"{API}/tasks/{R}"),
    ("PATCH", f"{API}/tasks/{R}"),
    ("DELETE", f"{API}/tasks/{R}"),
    ("GET", f"{API}/tasks/{R}/comments"),
    ("POST", f"{API}/tasks/{R}/comments"),
    ("PATCH", f"{API}/comments/{R}"),
    ("DELETE", f"{API}/comments/{R}"),
    ("GET", f"{API}/projects/{R}/activity"),
]


@pytest.mark.parametrize(
    "method, url", PROTECTED, ids=[f"{m} {u[len(API) :]}" for m, u in PROTECTED]
)
def test_every_endpoint_requires_a_token(api, method, url):
    body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    response = api.request(method, url, **body)
    assert_unauthorized(response)
