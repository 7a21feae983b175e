"""Users (createUser, getMe, getUser, listUsers): creation by admins, /me, lookup, prefix search,
ordering."""

from __future__ import annotations

import pytest

from support.factories import random_id, unique
from support.pagination import walk
from support.paths import API, ME_URL, USERS_URL
from support.problems import assert_errors, assert_problem
from support.responses import expect, get_json
from support.wire import assert_timestamp

PASSWORD = "correct horse battery staple"
USER_FIELDS = {"id", "email", "display_name", "is_admin", "created_at"}


def create(admin, **body):
    body.setdefault("password", PASSWORD)
    response = admin.post(USERS_URL, json=body)
    expect(response, 201)
    return response


def test_admin_creates_a_user(admin, api):
    email = f"{unique('new')}@example.com"
    response = create(admin, email=email, display_name="Grace Hopper")
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user == {
        "id": user["id"],
        "email": email,
        "display_name": "Grace Hopper",
        "is_admin": False,
        "created_at": user["created_at"],
    }
    assert_timestamp(user["created_at"])
    assert response.headers["location"] == f"{USERS_URL}/{user['id']}"
    assert get_json(admin, f"{USERS_URL}/{user['id']}") == user

    # The password given works for logging in.
    token = api.post(f"{API}/auth/token", data={"username": email, "password": PASSWORD})
    expect(token, 200)
    assert get_json(api.authed(token.json()["access_token"]), ME_URL) == user


def test_email_is_stored_lower_cased_and_login_works_with_it(admin, api):
    local = unique("MiXeD")
    response = create(admin, email=f"{local}@Example.COM", display_name="Mixed Case")
    user = response.json()
    assert user["email"] == f"{local.lower()}@example.com"
    token = api.post(f"{API}/auth/token", data={"username": user["email"], "password": PASSWORD})
    expect(token, 200)


@pytest.mark.parametrize("second", ["same", "upper", "mixed"])
def test_duplicate_email_in_any_case_is_409(admin, second):
    email = f"{unique('dup')}@example.com"
    first = create(admin, email=email, display_name="First").json()
    variant = {"same": email, "upper": email.upper(), "mixed": email.capitalize()}[second]
    response = admin.post(
        USERS_URL, json={"email": variant, "display_name": "Second", "password": PASSWORD}
    )
    assert_problem(response, 409)
    found = walk(admin, USERS_URL, {"q": email})
    assert found == [first]


def test_admin_can_create_an_admin_who_can_create_users(admin, api):
    email = f"{unique('adm')}@example.com"
    created = create(admin, email=email, display_name="Second Admin", is_admin=True).json()
    assert created["is_admin"] is True
    token = api.post(f"{API}/auth/token", data={"username": email, "password": PASSWORD}).json()
    second_admin = api.authed(token["access_token"])
    assert get_json(second_admin, ME_URL)["is_admin"] is True
    create(second_admin, email=f"{unique('by2nd')}@example.com", display_name="Made By Second")


def test_non_admin_cannot_create_users_and_nothing_is_written(make_user, admin):
    user = make_user()
    email = f"{unique('nope')}@example.com"
    response = user.client.post(
        USERS_URL, json={"email": email, "display_name": "X", "password": PASSWORD}
    )
    assert_problem(response, 403)
    assert walk(admin, USERS_URL, {"q": email}) == []


def test_non_admin_cannot_create_an_admin(make_user, admin):
    user = make_user()
    email = f"{unique('esc')}@example.com"
    response = user.client.post(
        USERS_URL,
        json={
            "email": email,
            "display_name": "X",
            "password": PASSWORD,
            "is_admin": True,
        },
    )
    assert_problem(response, 403)
    assert walk(admin, USERS_URL, {"q": email}) == []


@pytest.mark.parametrize("password", ["p" * 15, "p" * 128, "ünïcødé ünïcødé ✓"])
def test_password_length_boundaries_accepted(admin, api, password):
    email = f"{unique('pw')}@example.com"
    create(admin, email=email, display_name="Pw", password=password)
    expect(api.post(f"{API}/auth/token", data={"username": email, "password": password}), 200)


@pytest.mark.parametrize(
    "password, error", [("p" * 14, "string_too_short"), ("p" * 129, "string_too_long")]
)
def test_password_length_boundaries_rejected(admin, password, error):
    email = f"{unique('pw')}@example.com"
    response = admin.post(
        USERS_URL, json={"email": email, "display_name": "Pw", "password": password}
    )
    assert_errors(response, (("body", "password"), error))
    assert walk(admin, USERS_URL, {"q": email}) == []


@pytest.mark.parametrize(
    "email",
    [
        "no-at-sign.example.com",
        "a@b",
        "two@@example.com",
        "spa ce@example.com",
        "@example.com",
        "a@.",
        "user@example",
        "",
    ],
)
def test_malformed_email_is_pattern_mismatch(admin, email):
    response = admin.post(
        USERS_URL, json={"email": email, "display_name": "E", "password": PASSWORD}
    )
    assert_errors(response, (("body", "email"), "string_pattern_mismatch"))


def test_email_length_limit(admin):
    local = unique("l")
    ok = local + "a" * (254 - len(local) - len("@example.com")) + "@example.com"
    assert len(ok) == 254
    create(admin, email=ok, display_name="Long Email")
    too_long = "b" + ok
    response = admin.post(
        USERS_URL, json={"email": too_long, "display_name": "E", "password": PASSWORD}
    )
    assert_errors(response, (("body", "email"), "string_too_long"))


def test_responses_never_carry_a_password_or_hash(admin, make_user):
    user = make_user()
    for body in (
        get_json(user.client, ME_URL),
        get_json(admin, f"{USERS_URL}/{user.id}"),
        *walk(admin, USERS_URL, {"q": user.email}),
    ):
        assert set(body) == USER_FIELDS
        assert user.password not in str(body)
        assert "argon2" not in str(body)


# ------------------------------------------------------------------------- /me and lookup


def test_me_is_the_caller(make_user):
    user = make_user(display_name="Me Myself")
    me = get_json(user.client, ME_URL)
    assert me == {
        "id": user.id,
        "email": user.email,
        "display_name": "Me Myself",
        "is_admin": False,
        "created_at": me["created_at"],
    }


def test_me_of_admin_says_admin(admin):
    assert get_json(admin, ME_URL)["is_admin"] is True


def test_any_user_can_read_any_user(make_user):
    reader, other = make_user(), make_user(display_name="Someone Else")
    assert get_json(reader.client, f"{USERS_URL}/{other.id}") == get_json(other.client, ME_URL)


def test_unknown_user_is_404(make_user):
    assert_problem(make_user().client.get(f"{USERS_URL}/{random_id()}"), 404)


# ------------------------------------------------------------------------- list and search


@pytest.fixture
def tribe(make_user):
    """Users whose emails share a unique prefix; display names do not start with it."""
    prefix = unique("tr")
    names = ["Zoe", "adam", "Adam", "Adam", "bob", "Émile", "_under"]
    return prefix, [
        make_user(email=f"{prefix}{i}@example.com", display_name=name)
        for i, name in enumerate(names)
    ]


def test_list_by_email_prefix_is_ordered_by_display_name_then_id(make_user, tribe):
    prefix, users = tribe
    reader = make_user()
    got = walk(reader.client, USERS_URL, {"q": prefix}, limit=100)
    expected = sorted(users, key=lambda u: (u.display_name.encode(), u.id))
    assert [u["id"] for u in got] == [u.id for u in expected]
    assert [u["display_name"] for u in got] == [u.display_name for u in expected]
    for item in got:
        assert set(item) == USER_FIELDS


@pytest.mark.parametrize("case", ["lower", "upper"])
def test_email_prefix_is_case_insensitive(make_user, tribe, case):
    prefix, users = tribe
    q = prefix.upper() if case == "upper" else prefix
    got = walk(make_user().client, USERS_URL, {"q": q})
    assert {u["id"] for u in got} == {u.id for u in users}


def test_display_name_prefix_case_insensitive(make_user):
    stem = unique("Nm")
    alpha = make_user(display_name=f"{stem} Alpha")
    beta = make_user(display_name=f"{stem.lower()} beta")
    make_user(display_name=f"x{stem}")  # contains the stem, but not at the start
    reader = make_user()
    got = walk(reader.client, USERS_URL, {"q": stem.upper()})
    assert [u["id"] for u in got] == [
        u.id for u in sorted([alpha, beta], key=lambda u: (u.display_name.encode(), u.id))
    ]


def test_q_is_a_prefix_not_a_substring(make_user):
    stem = unique("sub")
    make_user(email=f"x{stem}@example.com", display_name=f"y{stem}")
    assert walk(make_user().client, USERS_URL, {"q": stem}) == []


def test_q_treats_like_wildcards_literally(make_user):
    stem = unique("wc")
    plain = make_user(email=f"{stem}ab@example.com")
    underscore = make_user(email=f"{stem}_b@example.com")
    percent_name = make_user(display_name=f"{stem}%name")
    reader = make_user().client
    assert [u["id"] for u in walk(reader, USERS_URL, {"q": f"{stem}_"})] == [underscore.id]
    assert [u["id"] for u in walk(reader, USERS_URL, {"q": f"{stem}%"})] == [percent_name.id]
    assert {u["id"] for u in walk(reader, USERS_URL, {"q": stem})} == {
        plain.id,
        underscore.id,
        percent_name.id,
    }


def test_list_without_q_includes_everyone_visible_to_any_user(make_user):
    user = make_user()
    everyone = walk(user.client, USERS_URL, limit=100, max_pages=1000)
    assert user.id in {u["id"] for u in everyone}
    keys = [(u["display_name"].encode(), u["id"]) for u in everyone]
    assert keys == sorted(keys)
