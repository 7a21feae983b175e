"""argon2id password hashing in the one PHC string format every implementation reads, at most
MAX_CONCURRENT_HASHES computations at once per server process (contract/DECISIONS.md, "Secrets
and passwords").

Sync servers (Flask, DRF under gunicorn threads) call the plain functions: the calling thread
waits for a hashing slot. Async servers (FastAPI, Litestar) call the `_async` ones: the wait is
on the event loop, holding no thread, and only the hash itself runs in a worker thread."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import cache

import anyio
from anyio import to_thread
from anyio.lowlevel import RunVar
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.settings import load_settings

# The standard profile takes 64 MiB and a few hundred milliseconds of CPU per hash: four at once
# is all one process gives argon2; a sign-in past them waits at most a second, then is told to
# come back (503, Retry-After: 1) rather than queue behind a flood of them.
MAX_CONCURRENT_HASHES = 4
HASH_SLOT_WAIT_SECONDS = 1.0


class PasswordHashingBusy(Exception):
    """No hashing slot came free within the wait: each implementation's errors module answers
    503 problem with `Retry-After: 1` (shared.problems.PASSWORD_HASHING_BUSY)."""


class HashingSlots:
    """At most `size` argon2 computations at once; a caller waits at most `wait_seconds` for a
    slot, then gets PasswordHashingBusy. A slot is given back however the hash ends."""

    def __init__(self, size: int, wait_seconds: float) -> None:
        self.size = size
        self.wait_seconds = wait_seconds
        self._for_threads = threading.BoundedSemaphore(size)
        # anyio's primitives belong to one event loop: one limiter per loop, made on first use.
        self._per_event_loop: RunVar[anyio.CapacityLimiter] = RunVar(f"hashing-slots-{id(self)}")

    @contextmanager
    def taken(self) -> Iterator[None]:
        """A slot for the calling thread (sync servers): the thread waits for it."""
        if not self._for_threads.acquire(timeout=self.wait_seconds):
            raise PasswordHashingBusy
        try:
            yield
        finally:
            self._for_threads.release()

    @asynccontextmanager
    async def taken_async(self) -> AsyncIterator[None]:
        """A slot for the calling task (async servers): it waits on the event loop."""
        limiter = self._limiter()
        try:
            with anyio.fail_after(self.wait_seconds):  # the wait only, never the hash
                await limiter.acquire()
        except TimeoutError:
            raise PasswordHashingBusy from None
        try:
            yield
        finally:
            limiter.release()

    async def run_async[T](self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a worker thread once a slot is free. Not under a deadline: a
        cancelled thread run still finishes its hash, and the slot is held until it has."""
        async with self.taken_async():
            return await to_thread.run_sync(function, *args)

    def _limiter(self) -> anyio.CapacityLimiter:
        try:
            return self._per_event_loop.get()
        except LookupError:
            limiter = anyio.CapacityLimiter(self.size)
            self._per_event_loop.set(limiter)
            return limiter


_slots = HashingSlots(MAX_CONCURRENT_HASHES, HASH_SLOT_WAIT_SECONDS)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    valid: bool
    # When valid and the stored hash was made with other parameters than the current profile's:
    # the password hashed again, to be stored (upgraded at a successful sign-in).
    upgraded_hash: str | None = None


@cache
def _hasher() -> PasswordHasher:
    """RFC 9106's low-memory option (64 MiB, t=3, p=4) — or minimal cost under the test profile.

    Verification always uses the parameters stored in the hash itself."""
    if load_settings().password_hash_profile == "test":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


@cache
def _dummy_hash() -> str:
    """Verified when an email is unknown, so both failures cost the same time."""
    return _hasher().hash("quartet-timing-equaliser-password")


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current profile's: upgrade
    it at the next successful sign-in (contract/DECISIONS.md, "Secrets and passwords")."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def _hash(password: str) -> str:
    return _hasher().hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check(password_hash: str | None, password: str) -> PasswordCheck:
    if not _verify(password_hash, password):
        return PasswordCheck(valid=False)
    assert password_hash is not None
    return PasswordCheck(True, _hash(password) if needs_rehash(password_hash) else None)


# ------------------------------------------------------------------ sync servers


def hash_password(password: str) -> str:
    with _slots.taken():
        return _hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; the same work whether or not the user exists (`None`)."""
    with _slots.taken():
        return _verify(password_hash, password)


def check_password(password_hash: str | None, password: str) -> PasswordCheck:
    """A sign-in's argon2 work in one slot: verify (an unknown user, `None`, costs the same),
    and re-hash a valid password whose hash is outdated."""
    with _slots.taken():
        return _check(password_hash, password)


# ------------------------------------------------------------------ async servers


async def hash_password_async(password: str) -> str:
    return await _slots.run_async(_hash, password)


async def check_password_async(password_hash: str | None, password: str) -> PasswordCheck:
    return await _slots.run_async(_check, password_hash, password)
