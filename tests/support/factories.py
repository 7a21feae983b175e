"""Creating users, projects, members, labels, tasks and comments through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from support.client import ContractClient
from support.contract import trim

TOKEN_PATH = "/api/v1/auth/token"


@dataclass
class Account:
    id: str
    email: str
    password: str
    display_name: str
    is_admin: bool
    token: str
    client: ContractClient  # authenticated as this account


def expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The JSON body of a response that must have one of `statuses`."""
    assert response.status_code in statuses, (
        f"{response.request.method} {response.request.url}: expected "
        f"{' or '.join(map(str, statuses))}, got {response.status_code}: {trim(response.text)}"
    )
    return response.json()


def login(client: ContractClient, email: str, password: str) -> str:
    """An access token via the OAuth2 password grant."""
    response = client.post(TOKEN_PATH, data={"username": email, "password": password})
    return expect(response, 200)["access_token"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_account(
    api: ContractClient,
    admin: ContractClient,
    *,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    password: str | None = None,
) -> Account:
    email = email or f"u-{uuid.uuid4().hex}@example.com"
    password = password or f"password-{uuid.uuid4().hex}"
    display_name = display_name if display_name is not None else unique("User")
    user = expect(
        admin.post(
            "/api/v1/users",
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
