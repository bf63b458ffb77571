"""Accounts: creation, tier grants and unlocks (administrators), TOTP enrolment (the holder).

Every change and its audit record commit in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.api.identity.protocol import (
    AccountCreateRequest,
    AccountObject,
    AccountTierRequest,
    TotpConfirmRequest,
    TotpEnrollment,
)
from app.db.repositories import accounts as repo
from app.db.repositories import audit
from app.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, ServerError
from app.identity import totp
from app.identity.accounts import USERNAME, Account
from app.identity.alias import new_alias
from app.identity.base import Identity
from app.identity.passwords import Passwords, password_problem
from app.identity.seal import SealError
from app.identity.tiers import Tiers


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    realm: str
    zone: str
    password_min_length: int
    token_ttl_seconds: int
    max_ttl_seconds: int
    lockout_failures: int
    lockout_seconds: float
    totp_issuer: str


def account_object(account: Account) -> AccountObject:
    """The wire view of an account (never its hash or secrets)."""
    now = datetime.now(UTC)
    locked = account.locked_until if account.locked_at(now) else None
    return AccountObject(
        id=account.id, username=account.username, alias=account.alias,
        max_tier=account.max_tier, totp_enabled=account.totp_enabled,
        locked_until=None if locked is None else int(locked.timestamp()),
        failed_attempts=account.failed_attempts, created_at=int(account.created_at.timestamp()))


def open_secret(seal: totp.TotpSeal, sealed: bytes, account_id: str) -> str:
    """A sealed TOTP secret, or a 500 saying the key does not fit (it was changed or lost)."""
    try:
        return seal.open(sealed, account_id)
    except SealError as exc:
        raise ServerError("This account's TOTP secret cannot be opened with the configured "
                          "LUKHAS_TOTP_KEY.", code="totp_key_mismatch") from exc


def _found(account: Account | None) -> Account:
    if account is None:
        raise NotFound("No such account.", param="account_id", code="account_not_found")
    return account


class AccountsService:
    def __init__(self, pool: Any, tiers: Tiers, passwords: Passwords, seal: totp.TotpSeal,
                 policy: AccountPolicy) -> None:
        self._pool = pool
        self._tiers = tiers
        self._passwords = passwords
        self._seal = seal
        self._policy = policy

    async def create(self, actor: Identity, req: AccountCreateRequest) -> AccountObject:
        """A new account with an Argon2id password and a fresh ΛiD alias."""
        if not USERNAME.match(req.username):
            raise InvalidRequest(
                "The username must be 3 to 64 characters: letters, digits and . _ @ + -, "
                "starting with a letter or digit.", param="username", code="invalid_username")
        problem = password_problem(req.password, req.username, self._policy.password_min_length)
        if problem:
            raise InvalidRequest(problem, param="password", code="weak_password")
        alias = str(new_alias(req.realm or self._policy.realm, req.zone or self._policy.zone))
        password_hash = await self._passwords.hash(req.password)
        account_id = "acct_" + secrets.token_hex(12)
        async with self._pool.acquire() as conn, conn.transaction():
            account = await repo.insert(conn, account_id, req.username, alias, password_hash)
            if account is None:
                raise Conflict(f"The username '{req.username}' is taken.", param="username",
                               code="username_taken")
            await audit.append(conn, actor.subject, "account.created", account_id,
                               {"username": req.username, "alias": alias})
        return account_object(account)

    async def get(self, account_id: str) -> AccountObject:
        """One account."""
        async with self._pool.acquire() as conn:
            return account_object(_found(await repo.by_id(conn, account_id)))

    async def set_tier(self, actor: Identity, account_id: str,
                       req: AccountTierRequest) -> AccountObject:
        """Set the most a login may reach (T3 only this way)."""
        if req.tier not in self._tiers.scopes_by_tier:
            raise InvalidRequest(f"Unknown tier '{req.tier}'; known: "
                                 f"{sorted(self._tiers.scopes_by_tier)}.", param="tier")
        async with self._pool.acquire() as conn, conn.transaction():
            before = _found(await repo.by_id(conn, account_id))
            account = _found(await repo.set_max_tier(conn, account_id, req.tier))
            await audit.append(conn, actor.subject, "account.tier_granted", account_id,
                               {"from": before.max_tier, "to": req.tier})
        return account_object(account)

    async def unlock(self, actor: Identity, account_id: str) -> AccountObject:
        """End a lockout and clear the failure count."""
        async with self._pool.acquire() as conn, conn.transaction():
            account, was_locked = await repo.unlock(conn, account_id)
            account = _found(account)
            await audit.append(conn, actor.subject, "account.unlocked", account_id,
                               {"reason": "admin", "was_locked": was_locked})
        return account_object(account)

    async def reset_totp(self, actor: Identity, account_id: str) -> AccountObject:
        """Remove an account's TOTP (a lost authenticator): its holder can enrol a new
        secret, and no code of the old one counts again."""
        async with self._pool.acquire() as conn, conn.transaction():
            account, was_on = await repo.reset_totp(conn, account_id)
            account = _found(account)
            await audit.append(conn, actor.subject, "account.totp_reset", account_id,
                               {"was_enabled": was_on})
        return account_object(account)

    async def enroll_totp(self, holder: Identity) -> TotpEnrollment:
        """A new TOTP secret for the caller's account, active once confirmed with a code."""
        account = await self._holder(holder)
        if account.totp_enabled:
            raise self._already_on()
        secret = totp.new_secret()
        async with self._pool.acquire() as conn:
            if not await repo.set_totp_pending(conn, account.id,
                                               self._seal.seal(secret, account.id)):
                raise self._already_on()
        return TotpEnrollment(
            secret=secret, issuer=self._policy.totp_issuer, digits=totp.DIGITS,
            period=totp.PERIOD,
            provisioning_uri=totp.provisioning_uri(secret, account.username,
                                                   self._policy.totp_issuer))

    async def confirm_totp(self, holder: Identity, req: TotpConfirmRequest) -> AccountObject:
        """Turn TOTP on with a first valid code (that code's step is then used up)."""
        account = await self._holder(holder)
        if account.totp_enabled:
            raise self._already_on()
        if account.totp_pending is None:
            raise InvalidRequest("No TOTP enrolment awaits confirmation; start one with "
                                 "POST /v1/identity/totp.", param="code",
                                 code="totp_not_pending")
        secret = open_secret(self._seal, account.totp_pending, account.id)
        step = totp.matching_step(secret, req.code, after=None)
        if step is None:
            raise InvalidRequest("The code is not valid for this enrolment (six digits from "
                                 "the authenticator app, within 30 s).", param="code",
                                 code="invalid_totp_code")
        async with self._pool.acquire() as conn, conn.transaction():
            if not await repo.confirm_totp(conn, account.id, account.totp_pending, step):
                raise Conflict("The enrolment changed meanwhile; start again.", param="code",
                               code="totp_enrollment_changed")
            await audit.append(conn, holder.subject, "account.totp_enabled", account.id, {})
            confirmed = _found(await repo.by_id(conn, account.id))
        return account_object(confirmed)

    async def _holder(self, identity: Identity) -> Account:
        account = None
        if identity.kind == "lid":
            async with self._pool.acquire() as conn:
                account = await repo.by_alias(conn, identity.subject)
        if account is None:
            raise PermissionDenied(
                "Only an account holder may do this: authenticate with POST "
                "/v1/identity/authenticate and send the token it returns.",
                code="account_required")
        return account

    @staticmethod
    def _already_on() -> Conflict:
        return Conflict("TOTP is already enabled on this account.", code="totp_already_enabled")
