"""`POST /v1/identity/authenticate`: username, password and maybe a one-time code → a token.

Order, so that a guess costs the guesser and tells them nothing:
1. the request's own shape (ttl, scope names, code format): 400s that say nothing of accounts;
2. the failure throttle for the client address and the username (429 before any hashing);
3. the account, or for an unknown username the dummy hash: both verify one Argon2id hash
   and answer the same 401 `invalid_credentials`, so neither status, body nor time tells
   whether the username exists;
4. a running lockout answers as the throttle does (429, same body), an ended one is lifted;
5. the password, then the TOTP code (RFC 6238, a step used once), each failure counted
   toward the lockout and audited;
6. on success, one transaction uses up the code's step, clears the failures (storing a
   rehash if the Argon2 parameters changed) and audits the login; then the token is issued.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.api.identity.accounts import AccountPolicy, open_secret
from app.api.identity.protocol import AccountToken, AuthenticateRequest
from app.db.repositories import accounts as repo
from app.db.repositories import audit
from app.errors import APIError, AuthenticationFailed, InvalidRequest
from app.identity import totp
from app.identity.accounts import Account, login_tier
from app.identity.alias import parse_alias
from app.identity.passwords import Passwords
from app.identity.throttle import AuthThrottle, address_key, username_key
from app.identity.tiers import Tiers
from app.identity.tokens import LidTokens

SURFACE = "password"
INVALID = "Incorrect username, password or one-time code."


class LoginService:
    def __init__(self, pool: Any, tokens: LidTokens, tiers: Tiers, passwords: Passwords,
                 seal: totp.TotpSeal, throttle: AuthThrottle, policy: AccountPolicy) -> None:
        self._pool = pool
        self._tokens = tokens
        self._tiers = tiers
        self._passwords = passwords
        self._seal = seal
        self._throttle = throttle
        self._policy = policy
        self._known_scopes = frozenset().union(*tiers.scopes_by_tier.values())

    async def authenticate(self, req: AuthenticateRequest,
                           client: tuple[str, int] | None) -> AccountToken:
        """A ΛiD token whose tier follows the factors given, or 401/429."""
        ttl = self._checked_request(req)
        address, user = address_key(client), username_key(req.username)
        await self._throttle.check(SURFACE, address, user)
        async with self._pool.acquire() as conn:
            account = await repo.by_username(conn, req.username)
        if account is None:
            await self._passwords.verify_dummy(req.password)
            raise await self._failed(None, req.username, address, "unknown_username")
        await self._lockout(account, address)
        checked = await self._passwords.verify(account.password_hash, req.password)
        if not checked.ok:
            raise await self._failed(account, req.username, address, "password")
        factors = ["password"]
        step = None
        if req.totp_code is not None:
            step = await self._totp_step(account, req.totp_code, address)
            factors.append("totp")
        tier = login_tier(len(factors), account.max_tier)
        try:
            scopes = self._tiers.grant(tier, req.scopes)
        except ValueError as exc:
            raise InvalidRequest(f"This login reaches tier {tier}, which does not grant "
                                 f"{sorted(set(req.scopes or ()) - self._tiers.scopes(tier))}.",
                                 param="scopes", code="scope_not_granted") from exc
        outcome = await self._succeed(account, step, checked.new_hash, tier, factors, address)
        if outcome is not None:
            raise outcome
        await self._throttle.succeeded(user)
        issued = self._tokens.issue(parse_alias(account.alias), tier, scopes=scopes,
                                    ttl_seconds=ttl)
        return AccountToken(token=issued.token, alias=issued.alias, jti=issued.jti, tier=tier,
                            scopes=list(issued.scopes), expires_at=issued.expires_at,
                            expires_in=ttl, account_id=account.id, factors=factors)

    def _checked_request(self, req: AuthenticateRequest) -> int:
        ttl = req.ttl_seconds or min(self._policy.token_ttl_seconds,
                                     self._policy.max_ttl_seconds)
        if ttl > self._policy.max_ttl_seconds:
            raise InvalidRequest(f"ttl_seconds may be at most {self._policy.max_ttl_seconds}.",
                                 param="ttl_seconds")
        unknown = sorted(set(req.scopes or ()) - self._known_scopes)
        if unknown:
            raise InvalidRequest(f"Unknown scopes: {unknown}.", param="scopes",
                                 code="unknown_scope")
        if req.totp_code is not None and not totp.is_code(req.totp_code):
            raise InvalidRequest("totp_code must be the six digits the authenticator shows.",
                                 param="totp_code", code="invalid_totp_code")
        return ttl

    async def _lockout(self, account: Account, address: str) -> None:
        if account.locked_until is None:
            return
        now = datetime.now(UTC)
        if account.locked_at(now):
            wait = (account.locked_until - now).total_seconds()
            raise self._throttle.refuse(SURFACE, wait)
        async with self._pool.acquire() as conn, conn.transaction():
            if await repo.unlock_expired(conn, account.id):
                await audit.append(conn, f"client:{address}", "account.unlocked", account.id,
                                   {"reason": "expired"})

    async def _totp_step(self, account: Account, code: str, address: str) -> int:
        if account.totp_secret is None:
            raise InvalidRequest("This account has no TOTP enrolled: omit totp_code, or enrol "
                                 "with POST /v1/identity/totp first.", param="totp_code",
                                 code="totp_not_enabled")
        secret = open_secret(self._seal, account.totp_secret, account.id)
        step = totp.matching_step(secret, code, after=None)
        if step is None:
            raise await self._failed(account, account.username, address, "totp")
        if account.totp_last_step is not None and step <= account.totp_last_step:
            raise await self._failed(account, account.username, address, "totp_replayed")
        return step

    async def _succeed(self, account: Account, step: int | None, new_hash: str | None,
                       tier: str, factors: list[str], address: str) -> APIError | None:
        """The success transaction; the error to answer if a race lost it."""
        async with self._pool.acquire() as conn, conn.transaction():
            if step is not None and not await repo.claim_totp_step(conn, account.id, step):
                replayed = True
            else:
                replayed = False
                if await repo.record_success(conn, account.id, new_hash):
                    await audit.append(conn, f"client:{address}", "account.authenticated",
                                       account.id, {"tier": tier, "factors": factors,
                                                    "rehashed": new_hash is not None})
                    return None
        if replayed:  # the same code, presented twice at once: one of them won
            return await self._failed(account, account.username, address, "totp_replayed")
        return self._throttle.refuse(SURFACE, self._policy.lockout_seconds)  # locked meanwhile

    async def _failed(self, account: Account | None, username: str, address: str,
                      reason: str) -> APIError:
        """Count and audit one failure; the answer is the same whatever the reason."""
        async with self._pool.acquire() as conn, conn.transaction():
            details: dict[str, Any] = {"reason": reason}
            if account is None:
                details["username"] = username[:64]
                await audit.append(conn, f"client:{address}", "account.auth_failed", None,
                                   details)
            else:
                failures, until = await repo.record_failure(
                    conn, account.id, self._policy.lockout_failures,
                    self._policy.lockout_seconds)
                details["consecutive"] = failures
                await audit.append(conn, f"client:{address}", "account.auth_failed",
                                   account.id, details)
                if failures == self._policy.lockout_failures and until is not None:
                    await audit.append(conn, f"client:{address}", "account.locked",
                                       account.id, {"until": until.isoformat(),
                                                    "failures": failures})
        refusal = await self._throttle.failed(SURFACE, address, username_key(username))
        return refusal or AuthenticationFailed(INVALID, code="invalid_credentials")
