"""Password hashes are upgraded at the next successful sign-in (contract/DECISIONS.md "Secrets
and passwords"): a hash made with other argon2 parameters than the server's current ones is
replaced by one made with the current parameters; a failed sign-in changes nothing.

"The current parameters" are those of a hash the server has just made: the user's own, as
createUser stored it. The outdated hash is written with SQL, made by argon2-cffi with one
parameter changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import psycopg
import pytest
from argon2 import Parameters, PasswordHasher, extract_parameters

from support.client import ContractClient
from support.factories import Account
from support.paths import TOKEN_URL
from support.problems import assert_unauthorized
from support.responses import expect

OUTDATED: dict[str, Callable[[Parameters], Parameters]] = {
    "time cost": lambda p: dataclasses.replace(p, time_cost=p.time_cost + 1),
    "memory cost": lambda p: dataclasses.replace(p, memory_cost=p.memory_cost * 2),
    "parallelism": lambda p: dataclasses.replace(
        p, parallelism=p.parallelism + 1, memory_cost=max(p.memory_cost, 8 * (p.parallelism + 1))
    ),
    "hash and salt length": lambda p: dataclasses.replace(
        p, hash_len=p.hash_len + 16, salt_len=p.salt_len + 8
    ),
}


def stored_hash(db: psycopg.Connection, user: Account) -> str:
    row = db.execute("SELECT password_hash FROM users WHERE id = %s", (user.id,)).fetchone()
    assert row is not None, f"no user {user.id}"
    return row[0]


def store_outdated_hash(db: psycopg.Connection, user: Account, change: str) -> str:
    """Replace the user's hash by one of the same password with one parameter changed."""
    current = extract_parameters(stored_hash(db, user))
    outdated = OUTDATED[change](current)
    assert outdated != current
    old_hash = PasswordHasher.from_parameters(outdated).hash(user.password)
    db.execute("UPDATE users SET password_hash = %s WHERE id = %s", (old_hash, user.id))
    return old_hash


def sign_in(api: ContractClient, user: Account, password: str):
    return api.post(TOKEN_URL, data={"username": user.email, "password": password})


@pytest.mark.parametrize("change", list(OUTDATED))
def test_a_successful_sign_in_upgrades_an_outdated_hash(
    api: ContractClient,
    db: psycopg.Connection,
    make_user: Callable[..., Account],
    change: str,
) -> None:
    user = make_user()
    current = extract_parameters(stored_hash(db, user))
    old_hash = store_outdated_hash(db, user, change)

    expect(sign_in(api, user, user.password), 200)  # the old hash still verifies

    new_hash = stored_hash(db, user)
    assert new_hash != old_hash, "the outdated hash was kept"
    assert extract_parameters(new_hash) == current, (
        f"upgraded to {extract_parameters(new_hash)}, the server's current ones are {current}"
    )
    assert PasswordHasher.from_parameters(current).verify(new_hash, user.password)
    expect(sign_in(api, user, user.password), 200)  # and the new one does


@pytest.mark.parametrize(
    "password",
    [lambda p: f"not-{p}", lambda p: p.upper(), lambda p: p + "\x00"],
    ids=["wrong password", "wrong case", "right password + NUL"],
)
def test_a_failed_sign_in_does_not_rehash(
    api: ContractClient,
    db: psycopg.Connection,
    make_user: Callable[..., Account],
    password: Callable[[str], str],
) -> None:
    user = make_user()
    old_hash = store_outdated_hash(db, user, "time cost")
    assert_unauthorized(sign_in(api, user, password(user.password)))
    assert stored_hash(db, user) == old_hash
