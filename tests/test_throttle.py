"""Throttled sign-in (createToken; contract/DECISIONS.md "Throttled sign-in", SPEC 11).

The suite's own servers sign everyone in from 127.0.0.1 and so run with a per-address limit no
test reaches. These tests start servers of the implementation with low limits, on the suite
server's database (failures live in PostgreSQL, so failures made through one server count on
the other), and start each test from no recorded failures.

Client addresses: the whole of 127.0.0.0/8 is this machine, so a client can connect from
127.0.0.3 (another client) or 127.0.0.2 (listed in TRUSTED_PROXIES: a reverse proxy whose
`X-Forwarded-For` names the client) to a server listening on 127.0.0.1.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest

from support.client import ContractClient
from support.contract import Contract
from support.factories import Account
from support.paths import ME_URL, TOKEN_URL
from support.problems import assert_problem, assert_unauthorized
from support.responses import expect
from support.servers import Server, ServerProcess, start_server

PAIR_LIMIT = 3
ADDRESS_LIMIT = 6
WINDOW_SECONDS = 600
SHORT_WINDOW_SECONDS = 3  # the window-expiry test waits this long, at most
DIRECT = "127.0.0.1"  # the suite's usual address: not a trusted proxy
TRUSTED_PROXY = "127.0.0.2"
OTHER_CLIENT = "127.0.0.3"
TOO_MANY = "Too many failed sign-ins; try again later."  # DECISIONS "Throttled sign-in"

SERVER_SETTINGS = {
    "limits": {
        "LOGIN_MAX_FAILURES_PER_PAIR": str(PAIR_LIMIT),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": str(ADDRESS_LIMIT),
        "LOGIN_THROTTLE_WINDOW_SECONDS": str(WINDOW_SECONDS),
        "TRUSTED_PROXIES": TRUSTED_PROXY,
    },
    "short window": {
        "LOGIN_MAX_FAILURES_PER_PAIR": "1",
        "LOGIN_THROTTLE_WINDOW_SECONDS": str(SHORT_WINDOW_SECONDS),
    },
}


class ThrottledServers:
    """Servers of one implementation with the settings above, started on first use."""

    def __init__(self, server: Server, contract: Contract) -> None:
        self.server = server
        self.contract = contract
        self._processes: dict[str, ServerProcess] = {}
        self._clients: list[ContractClient] = []

    def client(self, settings: str = "limits", source: str = DIRECT) -> ContractClient:
        """A client of the server with `settings`, connecting from the address `source`."""
        if settings not in self._processes:
            assert self.server.database_url is not None
            self._processes[settings] = start_server(
                self.server.impl, self.server.database_url, env=SERVER_SETTINGS[settings]
            )
        client = ContractClient(
            self._processes[settings].base_url,
            contract=self.contract,
            transport=httpx.HTTPTransport(local_address=source),
        )
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()
        for process in self._processes.values():
            process.stop()


@pytest.fixture(scope="module")
def throttled(server: Server, contract: Contract) -> Iterator[ThrottledServers]:
    if server.is_remote:
        pytest.skip("starts servers with low sign-in limits (not with --base-url)")
    servers = ThrottledServers(server, contract)
    yield servers
    servers.close()


@pytest.fixture(autouse=True)
def no_failures_yet(db: psycopg.Connection) -> None:
    """Each test starts from a clean slate (other tests fail sign-ins from 127.0.0.1 too)."""
    db.execute("DELETE FROM sign_in_failures")


def sign_in(
    client: httpx.Client, email: str, password: str, *, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return client.post(TOKEN_URL, data={"username": email, "password": password}, headers=headers)


def signs_in(response: httpx.Response, client: httpx.Client) -> None:
    """A 200 whose token works (on the server that issued it)."""
    token = expect(response, 200)["access_token"]
    me = client.get(ME_URL, headers={"Authorization": f"Bearer {token}"})
    expect(me, 200)


def assert_throttled(
    response: httpx.Response, window: int = WINDOW_SECONDS, *, at_least: int = 1
) -> int:
    """A 429 problem with an integer `Retry-After` between `at_least` (and 1) and the window;
    the seconds it asks to wait."""
    body = assert_problem(response, 429)
    assert body["detail"] == TOO_MANY, body
    retry_after = response.headers.get("retry-after")
    assert retry_after is not None and re.fullmatch(r"[0-9]+", retry_after), (
        f"Retry-After {retry_after!r} is not a number of seconds"
    )
    lowest = max(1, at_least)
    assert lowest <= int(retry_after) <= window, (
        f"Retry-After {retry_after} outside {lowest}..{window}"
    )
    return int(retry_after)


def wrong(account: Account) -> str:
    return f"not-{account.password}"


def nobody() -> str:
    """An email no user has."""
    return f"nobody-{uuid.uuid4().hex}@example.com"


def fail(client: httpx.Client, email: str, times: int, **kwargs: str) -> None:
    for attempt in range(times):
        response = sign_in(client, email, "certainly-not-the-password", **kwargs)
        assert response.status_code == 401, f"failure {attempt + 1}: {response.text}"
        assert_unauthorized(response)


# ------------------------------------------------------------------------ the pair


def test_past_the_pair_limit_even_the_right_password_is_429(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()
    for attempt in range(PAIR_LIMIT):  # the limit itself is still a plain 401
        response = sign_in(client, user.email, wrong(user))
        assert response.status_code == 401, f"failure {attempt + 1}: {response.text}"
    # Allowed again when the oldest of those failures leaves the window: nearly all of it.
    nearly = WINDOW_SECONDS - 60
    assert_throttled(sign_in(client, user.email, user.password), at_least=nearly)
    assert_throttled(sign_in(client, user.email, wrong(user)), at_least=nearly)
    assert_throttled(sign_in(client, user.email, user.password), at_least=nearly)


def test_the_pair_is_counted_by_lower_cased_email(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()
    local, domain = user.email.split("@")
    spellings = [user.email.upper(), f"{local.capitalize()}@{domain.upper()}", user.email.title()]
    assert len(spellings) == PAIR_LIMIT and user.email not in spellings
    for spelling in spellings:
        fail(client, spelling, 1)
    assert_throttled(sign_in(client, user.email, user.password))
    assert_throttled(sign_in(client, user.email.upper(), user.password))


def test_an_unknown_email_is_throttled_like_a_known_one(throttled: ThrottledServers) -> None:
    """Otherwise the throttle would tell which emails have accounts."""
    client = throttled.client()
    email = nobody()
    fail(client, email, PAIR_LIMIT)
    assert_throttled(sign_in(client, email, "any-password-at-all"))


def test_failures_are_committed_although_the_answer_is_401(
    server: Server,
    throttled: ThrottledServers,
    api: ContractClient,
    make_user: Callable[..., Account],
) -> None:
    """Failed through the suite's server (limit 10), they count on the throttled one: they are
    rows in PostgreSQL, committed by the request that answered 401."""
    user = make_user()
    fail(api, user.email, PAIR_LIMIT)
    assert_throttled(sign_in(throttled.client(), user.email, user.password))
    # The suite's own server, with its limit of 10, still lets the right password in.
    signs_in(sign_in(api, user.email, user.password), api)


def test_a_success_clears_the_pairs_failures(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()
    for _ in range(2):  # 2 × (limit - 1) failures: past the limit unless a success clears them
        fail(client, user.email, PAIR_LIMIT - 1)
        signs_in(sign_in(client, user.email, user.password), client)
    fail(client, user.email, PAIR_LIMIT - 1)
    signs_in(sign_in(client, user.email, user.password), client)


def test_a_success_from_another_address_does_not_clear_the_pair(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    attacked = throttled.client()
    fail(attacked, user.email, PAIR_LIMIT)
    # Nobody can lock a user out from another address: the user, elsewhere, signs in...
    elsewhere = throttled.client(source=OTHER_CLIENT)
    signs_in(sign_in(elsewhere, user.email, user.password), elsewhere)
    # ... and that success is the other pair's: this one stays throttled.
    assert_throttled(sign_in(attacked, user.email, user.password))


@pytest.mark.slow
def test_failures_counted_by_one_implementation_throttle_another(
    server: Server,
    throttled: ThrottledServers,
    peer_impl: str,
    contract: Contract,
    make_user: Callable[..., Account],
) -> None:
    """The failures are rows every implementation writes and reads alike: the email lower-cased,
    the client address as X-Forwarded-For named it."""
    user = make_user()
    here = throttled.client(source=TRUSTED_PROXY)
    for spelling in (user.email.upper(), user.email.title(), user.email):
        fail(here, spelling, 1, forwarded_for="198.51.100.7")
    fail(here, user.email, PAIR_LIMIT - 1, forwarded_for="198.51.100.9")
    assert server.database_url is not None
    with (
        start_server(peer_impl, server.database_url, env=SERVER_SETTINGS["limits"]) as peer,
        ContractClient(
            peer.base_url,
            contract=contract,
            transport=httpx.HTTPTransport(local_address=TRUSTED_PROXY),
        ) as there,
    ):
        assert_throttled(sign_in(there, user.email, user.password, forwarded_for="198.51.100.7"))
        # A success there clears the pair here.
        signs_in(sign_in(there, user.email, user.password, forwarded_for="198.51.100.9"), there)
    fail(here, user.email, PAIR_LIMIT - 1, forwarded_for="198.51.100.9")
    signs_in(sign_in(here, user.email, user.password, forwarded_for="198.51.100.9"), here)


# ------------------------------------------------------------------------ the address


def test_other_emails_are_allowed_until_the_address_limit(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    victim, other, third = make_user(), make_user(), make_user()
    client = throttled.client()
    fail(client, victim.email, PAIR_LIMIT)
    assert_throttled(sign_in(client, victim.email, victim.password))
    # The address has PAIR_LIMIT failures, below its own limit: other emails still get in.
    signs_in(sign_in(client, other.email, other.password), client)
    # Failures for other emails (known or not) fill the address up to its limit...
    for attempt in range(ADDRESS_LIMIT - PAIR_LIMIT):
        email = third.email if attempt == 0 else nobody()
        fail(client, email, 1)
    # ... past which every email from this address is throttled, right password or not.
    assert_throttled(sign_in(client, other.email, other.password), at_least=WINDOW_SECONDS - 60)
    assert_throttled(sign_in(client, third.email, third.password))
    assert_throttled(sign_in(client, nobody(), "any-password-at-all"))
    # Another address is not affected.
    elsewhere = throttled.client(source=OTHER_CLIENT)
    signs_in(sign_in(elsewhere, other.email, other.password), elsewhere)
    signs_in(sign_in(elsewhere, victim.email, victim.password), elsewhere)


# ------------------------------------------------------------------------ what is not counted


INVALID_FORMS = {
    "no password": lambda email: {"username": email},
    "no username": lambda email: {"password": "certainly-not-the-password"},
    "grant_type not password": lambda email: {
        "username": email,
        "password": "certainly-not-the-password",
        "grant_type": "client_credentials",
    },
    "unknown field": lambda email: {
        "username": email,
        "password": "certainly-not-the-password",
        "remember_me": "1",
    },
}


def test_validation_errors_are_not_counted(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()
    for _ in range(2):  # 8 invalid forms: past both limits if they counted
        for case, form in INVALID_FORMS.items():
            response = client.post(TOKEN_URL, data=form(user.email))
            assert response.status_code == 422, f"{case}: {response.text}"
            assert_problem(response, 422)
    signs_in(sign_in(client, user.email, user.password), client)


def test_form_validation_comes_before_the_throttle(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()
    fail(client, user.email, PAIR_LIMIT)
    assert_throttled(sign_in(client, user.email, user.password))
    for case, form in INVALID_FORMS.items():
        response = client.post(TOKEN_URL, data=form(user.email))
        assert response.status_code == 422, f"{case}: {response.text}"


# ------------------------------------------------------------------------ U+0000


@pytest.mark.parametrize(
    "password",
    [lambda p: "\x00", lambda p: p + "\x00", lambda p: p[:5] + "\x00" + p[5:]],
    ids=["only NUL", "right password + NUL", "NUL inside"],
)
def test_nul_in_the_password_is_a_counted_401_never_a_500(
    throttled: ThrottledServers,
    make_user: Callable[..., Account],
    password: Callable[[str], str],
) -> None:
    user = make_user()
    client = throttled.client()
    for attempt in range(PAIR_LIMIT):
        response = sign_in(client, user.email, password(user.password))
        assert response.status_code == 401, f"attempt {attempt + 1}: {response.text}"
        assert_unauthorized(response)
    assert_throttled(sign_in(client, user.email, user.password))


def test_nul_in_the_username_is_a_401_counted_for_the_address(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    """The pair of a username PostgreSQL cannot store is the implementation's business; the
    failure must still count for the address."""
    other = make_user()
    client = throttled.client()
    # Each a different email even with the NUL dropped: no pair reaches its own limit.
    usernames = [
        "\x00",
        f"{nobody()}\x00",
        f"\x00{nobody()}",
        nobody().replace("@", "\x00@"),
        f"{nobody()}\x00\x00",
        nobody().replace("-", "\x00", 1),
    ]
    assert len(usernames) == ADDRESS_LIMIT
    for attempt, username in enumerate(usernames):
        response = sign_in(client, username, other.password)
        assert response.status_code == 401, f"attempt {attempt + 1}: {response.text}"
        assert_unauthorized(response)
    assert_throttled(sign_in(client, other.email, other.password))


# ------------------------------------------------------------------------ client address


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client()  # 127.0.0.1 is not in TRUSTED_PROXIES
    for attempt in range(PAIR_LIMIT):  # a new "address" each time: an attacker's dream
        fail(client, user.email, 1, forwarded_for=f"198.51.100.{attempt + 10}")
    assert_throttled(sign_in(client, user.email, user.password, forwarded_for="198.51.100.99"))
    assert_throttled(sign_in(client, user.email, user.password))


def test_a_trusted_proxy_forwards_the_client_address(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    proxy = throttled.client(source=TRUSTED_PROXY)
    fail(proxy, user.email, PAIR_LIMIT, forwarded_for="198.51.100.7")
    assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.7"))
    # The right-most entry that is not a trusted proxy is the client; what a client wrote
    # further left is not believed, and trusted hops on the right are skipped.
    for chain in ("203.0.113.9, 198.51.100.7", f"198.51.100.7, {TRUSTED_PROXY}"):
        assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for=chain))
    # Another client behind the same proxy, and the user connecting directly, get in.
    signs_in(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.8"), proxy)
    signs_in(
        sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.7, 203.0.113.9"),
        proxy,
    )
    direct = throttled.client()
    signs_in(sign_in(direct, user.email, user.password), direct)
    # None of those successes was the throttled pair's.
    assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.7"))


def test_a_trusted_proxy_may_forward_ipv6_clients(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    proxy = throttled.client(source=TRUSTED_PROXY)
    fail(proxy, user.email, PAIR_LIMIT, forwarded_for="2001:db8::7")
    assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for="2001:db8::7"))
    # The same address spelled out in full is the same client.
    full = "2001:0db8:0000:0000:0000:0000:0000:0007"
    assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for=full))
    signs_in(sign_in(proxy, user.email, user.password, forwarded_for="2001:db8::8"), proxy)


def test_clients_behind_a_trusted_proxy_do_not_share_its_address(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    proxy = throttled.client(source=TRUSTED_PROXY)
    for attempt in range(ADDRESS_LIMIT):  # the proxy's address limit, from many clients
        fail(proxy, nobody(), 1, forwarded_for=f"198.51.100.{attempt + 20}")
    signs_in(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.40"), proxy)
    # One client behind it reaching the address limit is throttled, alone.
    for _ in range(ADDRESS_LIMIT):
        fail(proxy, nobody(), 1, forwarded_for="198.51.100.41")
    assert_throttled(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.41"))
    signs_in(sign_in(proxy, user.email, user.password, forwarded_for="198.51.100.42"), proxy)


# ------------------------------------------------------------------------ the window


def test_the_window_passing_lets_the_pair_in_again(
    throttled: ThrottledServers, make_user: Callable[..., Account]
) -> None:
    user = make_user()
    client = throttled.client("short window")
    fail(client, user.email, 1)
    retry_after = assert_throttled(
        sign_in(client, user.email, user.password), window=SHORT_WINDOW_SECONDS
    )
    time.sleep(retry_after)  # as told; a throttled attempt does not count as a failure
    deadline = time.monotonic() + 5  # slack for a loaded machine
    while (response := sign_in(client, user.email, user.password)).status_code == 429:
        assert time.monotonic() < deadline, "still throttled 5 s after Retry-After"
        assert_throttled(response, window=SHORT_WINDOW_SECONDS)
        time.sleep(0.25)
    signs_in(response, client)
    # The window slides: one failure again is one failure in the window again.
    fail(client, user.email, 1)
    assert_throttled(sign_in(client, user.email, user.password), window=SHORT_WINDOW_SECONDS)
