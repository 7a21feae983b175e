"""Pooled identities for tests that need many users (role matrices need five or six).

Creating a user costs two argon2 operations (hash, then login), so the `people` fixture borrows
identities from a per-server pool instead. Pooled users are only ever used as members of projects
the test creates itself (or as outsiders to them); a test that asserts on a user's own data
(their project list, their profile) makes a fresh one with `make_user`."""

from __future__ import annotations

import time
from typing import Any

from support.client import ContractClient
from support.factories import Account, create_account, login
from support.servers import TOKEN_REFRESH_SECONDS

# (base_url, is_admin) -> [{"account": Account, "since": monotonic time of its token}]
_POOL: dict[tuple[str, bool], list[dict[str, Any]]] = {}


class People:
    """Hands out pooled users; within one test every user handed out is a different one."""

    def __init__(self, base_url: str, api: ContractClient, admin: ContractClient) -> None:
        self._base_url, self._api, self._admin = base_url, api, admin
        self._handed_out = {False: 0, True: 0}

    def get(self, count: int, *, is_admin: bool = False) -> list[Account]:
        pool = _POOL.setdefault((self._base_url, is_admin), [])
        start = self._handed_out[is_admin]
        self._handed_out[is_admin] = end = start + count
        while len(pool) < end:
            account = create_account(self._api, self._admin, is_admin=is_admin)
            pool.append({"account": account, "since": time.monotonic()})
        accounts = []
        for entry in pool[start:end]:
            cached: Account = entry["account"]
            if time.monotonic() - entry["since"] > TOKEN_REFRESH_SECONDS:
                cached.token = login(self._api, cached.email, cached.password)
                entry["since"] = time.monotonic()
            accounts.append(
                Account(
                    id=cached.id,
                    email=cached.email,
                    password=cached.password,
                    display_name=cached.display_name,
                    is_admin=cached.is_admin,
                    token=cached.token,
                    client=self._api.authed(cached.token),
                )
            )
        return accounts
