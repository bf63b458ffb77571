"""ΛiD tokens: compact JWTs (RFC 7519) signed with HMAC-SHA256, validated step by step so
each failure has its own code. The exact format is in docs/identity.md.

Order of checks, cheapest and most specific first: structure, claims, the alias's CRC (no
key touched yet), the key id, the signature, the time window, revocation, single use.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from app.db.pool import Database
from app.errors import AuthenticationFailed, ServiceUnavailable
from app.identity.alias import Alias, AliasError, parse_alias
from app.identity.base import Identity
from app.identity.claims import MalformedToken, check_claims, check_header, check_segments
from app.identity.keyring import KeyRing
from app.identity.marks import TokenMarks
from app.identity.tiers import Tiers
from app.kv.base import KeyValueStore, StoreUnavailable

ISSUER = "lukhas"
_REQUIRED = ("sub", "tier", "scope", "iat", "nbf", "exp", "jti")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    alias: str
    jti: str
    expires_at: int
    scopes: tuple[str, ...]


def _fail(code: str, message: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code=code)


def _unavailable() -> ServiceUnavailable:
    # Fail closed: without the store, revocations and single use cannot be checked.
    return ServiceUnavailable(
        "Token checks are unavailable right now; retry shortly.", code="identity_unavailable",
        headers={"x-should-retry": "true", "retry-after": "1"},
    )


class LidTokens:
    """Issues and validates ΛiD tokens against one key ring and tier table; revocations
    and single uses are kept in `database` with `store` as their cache (see marks.py)."""

    def __init__(self, keyring: KeyRing, tiers: Tiers, store: KeyValueStore,
                 leeway_seconds: float = 30.0, *, database: Database | None = None) -> None:
        self.keyring = keyring
        self._tiers = tiers
        self.marks = TokenMarks(store, database)
        self._leeway = leeway_seconds

    def issue(self, alias: Alias, tier: str, *, scopes: Iterable[str] | None = None,
              ttl_seconds: int = 3600, once: bool = False, not_before: int | None = None,
              now: int | None = None) -> IssuedToken:
        """Sign a token for `alias`; scopes default to the tier's, and must lie within it."""
        granted = self._tiers.grant(tier, scopes)
        issued_at = int(time.time()) if now is None else now
        kid, secret = self.keyring.signing_key()
        claims: dict[str, Any] = {
            "iss": ISSUER, "sub": str(alias), "tier": tier, "scope": " ".join(sorted(granted)),
            "iat": issued_at, "nbf": issued_at if not_before is None else not_before,
            "exp": issued_at + ttl_seconds, "jti": uuid.uuid4().hex,
        }
        if once:
            claims["once"] = True
        token = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})
        return IssuedToken(token, str(alias), claims["jti"], claims["exp"],
                           tuple(sorted(granted)))

    async def validate(self, token: str) -> Identity:
        """The identity in `token`, or a 401 with the failing check's code."""
        claims = self._read(token)
        self._verify(token, claims)
        jti = str(claims["jti"])
        try:
            if await self.marks.revoked(jti, self._kept_for(claims["exp"])):
                raise _fail("token_revoked", "This token has been revoked.")
            if claims.get("once") is True and \
                    not await self.marks.use(jti, self._mark_until(claims["exp"])):
                raise _fail("token_replayed", "This single-use token was already used.")
        except StoreUnavailable as exc:
            raise _unavailable() from exc
        scopes = frozenset(claims["scope"].split()) & self._tiers.scopes(claims["tier"])
        return Identity(subject=claims["sub"], scopes=scopes, tier=claims["tier"], kind="lid",
                        token_id=claims["jti"], expires_at=int(claims["exp"]),
                        single_use=claims.get("once") is True)

    async def revoke(self, jti: str, expires_at: int) -> None:
        """Revoke a token id until the token would have expired anyway."""
        try:
            await self.marks.revoke(jti, self._mark_until(expires_at))
        except StoreUnavailable as exc:
            raise _unavailable() from exc

    def signed_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token signed with a known key, its time window unchecked (an
        expired token may still be revoked); ValueError saying why not."""
        try:
            check_segments(token)
            kid = check_header(jwt.get_unverified_header(token))
            secret = self.keyring.get(kid)
            if secret is None:
                raise ValueError("The token's key is unknown.")
            claims: dict[str, Any] = jwt.decode(
                token, secret, algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
            check_claims(claims)  # a MalformedToken is a ValueError
        except jwt.PyJWTError as exc:
            raise ValueError(f"Not a valid ΛiD token: {exc}.") from exc
        return claims

    def _mark_until(self, expires_at: float) -> float:
        """When a mark about a token may go: once the token could no longer be accepted."""
        return float(expires_at) + self._leeway

    def _kept_for(self, expires_at: float) -> float:
        """Seconds to keep a mark about a token: until it could no longer be accepted."""
        return max(1.0, self._mark_until(expires_at) - time.time())

    def _read(self, token: str) -> dict[str, Any]:
        try:
            check_segments(token)
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
            kid = check_header(unverified["header"])
            claims: dict[str, Any] = unverified["payload"]
            check_claims(claims)
        except (jwt.PyJWTError, MalformedToken) as exc:
            raise _fail("token_malformed",
                        f"The token is not a well-formed ΛiD token: {exc}.") from exc
        if claims["iss"] != ISSUER:
            raise _fail("token_malformed", "The token was not issued by ΛiD.")
        if claims["tier"] not in self._tiers.scopes_by_tier:
            raise _fail("token_malformed", "The token's tier is not valid.")
        try:
            parse_alias(claims["sub"])  # the CRC, before any signature work
        except AliasError as exc:
            raise _fail(exc.code, str(exc)) from exc
        claims["_kid"] = kid
        return claims

    def _verify(self, token: str, claims: dict[str, Any]) -> None:
        secret = self.keyring.get(claims["_kid"])
        if secret is None:
            raise _fail("unknown_kid", f"The token's key '{claims['_kid']}' is not known "
                        "(never configured, or retired).")
        try:
            jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                       leeway=self._leeway, options={"require": list(_REQUIRED)})
        except jwt.InvalidSignatureError as exc:
            raise _fail("token_bad_signature", "The token's signature does not verify.") from exc
        except jwt.ExpiredSignatureError as exc:
            raise _fail("token_expired", "The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _fail("token_not_yet_valid", "The token is not valid yet.") from exc
        except jwt.PyJWTError as exc:
            raise _fail("token_malformed", f"The token is not valid: {exc}.") from exc


class LidResolver:
    """The identity step for bearer credentials shaped like a JWT (three dot-separated parts)."""

    def __init__(self, tokens: LidTokens) -> None:
        self._tokens = tokens

    async def resolve(self, credential: str) -> Identity | None:
        """An identity, a 401 with the failing check's code, or None if not a ΛiD token."""
        if credential.count(".") != 2:
            return None
        return await self._tokens.validate(credential)
