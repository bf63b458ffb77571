"""Account passwords: Argon2id (RFC 9106) through argon2-cffi, with the policy they must meet.

Hashing and verifying run in a worker thread (argon2-cffi releases the GIL), so a login's
tens of milliseconds never stall the event loop. An unknown username is verified against a
dummy hash made with the same parameters, so it costs what a wrong password costs.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MAX_PASSWORD_CHARS = 1024  # Argon2 takes any length; a bound keeps one request's cost bounded


@dataclass(frozen=True, slots=True)
class PasswordParams:
    time_cost: int
    memory_kib: int
    parallelism: int


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    new_hash: str | None = None  # set when the stored hash used other parameters


def password_problem(password: str, username: str, min_length: int) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < min_length:
        return f"The password must be at least {min_length} characters long."
    if len(password) > MAX_PASSWORD_CHARS:
        return f"The password may be at most {MAX_PASSWORD_CHARS} characters long."
    if not password.strip():
        return "The password may not be only whitespace."
    if password.casefold() == username.casefold():
        return "The password may not be the username."
    if len(set(password)) < 4:
        return "The password must use at least 4 different characters."
    return None


class Passwords:
    """Hash and verify with one set of Argon2id parameters."""

    def __init__(self, params: PasswordParams) -> None:
        self.params = params
        self._hasher = PasswordHasher(time_cost=params.time_cost,
                                      memory_cost=params.memory_kib,
                                      parallelism=params.parallelism, type=Type.ID)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """A new Argon2id hash (PHC string, salt included)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str, password: str) -> Checked:
        """Whether `password` matches `stored`; a fresh hash when the parameters changed."""
        ok = await asyncio.to_thread(self._verify, stored, password)
        if not ok:
            return Checked(False)
        if self._hasher.check_needs_rehash(stored):
            return Checked(True, await self.hash(password))
        return Checked(True)

    async def verify_dummy(self, password: str) -> None:
        """Spend what a real verification spends, for a username that does not exist."""
        await asyncio.to_thread(self._verify, self._dummy, password)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
