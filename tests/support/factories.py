"""Creating users through the API, logging in, and the unique names and ids test data needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from support.client import ContractClient
from support.paths import TOKEN_URL, USERS_URL
from support.responses import expect


@dataclass
class Account:
    id: str
    email: str
    password: str
    display_name: str
    is_admin: bool
    token: str
    client: ContractClient  # authenticated as this account


def unique(prefix: str) -> str:
    """A short name no other test (or earlier run on the same database) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def random_id() -> str:
    """A well-formed id that names nothing."""
    return str(uuid.uuid4())


def login(client: ContractClient, email: str, password: str) -> str:
    """An access token via the OAuth2 password grant."""
    response = client.post(TOKEN_URL, data={"username": email, "password": password})
    return expect(response, 200)["access_token"]


def create_account(
    api: ContractClient,
    admin: ContractClient,
    *,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    password: str | None = None,
) -> Account:
    """A user created by `admin` through POST /api/v1/users, logged in."""
    email = email or f"u-{uuid.uuid4().hex}@example.com"
    password = password or f"password-{uuid.uuid4().hex}"
    display_name = display_name if display_name is not None else unique("User")
    user = expect(
        admin.post(
            USERS_URL,
            json={
                "email": email,
                "display_name": display_name,
                "password": password,
                "is_admin": is_admin,
            },
        ),
        201,
    )
    token = login(api, email, password)
    return Account(
        id=user["id"],
        email=user["email"],
        password=password,
        display_name=user["display_name"],
        is_admin=user["is_admin"],
        token=token,
        client=api.authed(token),
    )
