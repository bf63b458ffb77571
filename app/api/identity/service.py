"""Identity management: who am I, issue a token, revoke one."""

from __future__ import annotations

import time
from typing import Any

from app.api.identity.protocol import (
    RevokeRequest,
    TierCheck,
    TokenIssueRequest,
    TokenVerification,
    VerifyRequest,
)
from app.db.repositories import audit
from app.db.repositories import conversations as conversations_repo
from app.db.repositories import dreams as dreams_repo
from app.db.repositories import experience as experience_repo
from app.db.repositories import memory as memory_repo
from app.db.repositories import responses as responses_repo
from app.errors import AuthenticationFailed, InvalidRequest, ServiceUnavailable
from app.identity.alias import new_alias
from app.identity.base import Identity
from app.identity.tiers import Tiers
from app.identity.tokens import LidTokens
from app.kv.base import StoreUnavailable
from app.matriz.experience import ExperienceLog
from app.memory.conversations import ConversationMemory
from app.sessions.base import SessionStore

MAX_SUBJECT_LENGTH = 256


def describe(identity: Identity) -> dict[str, Any]:
    """The caller as `GET /v1/identity/me` shows it."""
    return {"object": "identity", "subject": identity.subject, "kind": identity.kind,
            "tier": identity.tier, "scopes": sorted(identity.scopes),
            "token_id": identity.token_id, "expires_at": identity.expires_at}


class IdentityService:
    def __init__(self, tokens: LidTokens, tiers: Tiers, max_ttl_seconds: int, *,
                 pool: Any = None, sessions: SessionStore | None = None,
                 memory: ConversationMemory | None = None,
                 experience: ExperienceLog | None = None) -> None:
        self._tokens = tokens
        self._tiers = tiers
        self._max_ttl = max_ttl_seconds
        self._pool = pool
        self._sessions = sessions
        self._memory = memory
        self._experience = experience

    async def erase(self, actor: Identity, subject: str) -> dict[str, Any]:
        """Erase all `subject` owns: memory, indexes, responses, conversations, dreams,
        sessions, and their experience log.

        One transaction in PostgreSQL (content-free tombstones and an audit record stay),
        then the sessions; a session store that is down fails the call (503) after the
        database part, and a retry finishes the job.
        """
        if not 1 <= len(subject) <= MAX_SUBJECT_LENGTH:
            # Every subject we issue is far shorter (an alias is under 100 characters); the
            # audit record indexes the subject, and a B-tree key must fit in a third of a page.
            raise InvalidRequest(f"'subject' must be 1 to {MAX_SUBJECT_LENGTH} characters.",
                                 param="subject", code="invalid_value")
        async with self._pool.acquire() as conn, conn.transaction():
            counts = await memory_repo.erase_subject(conn, subject)
            counts["responses"] = await responses_repo.delete_owner(conn, subject)
            counts["conversations"] = await conversations_repo.delete_owner(conn, subject)
            counts["dreams"] = await dreams_repo.delete_owner(conn, subject)
            if self._experience is not None:  # its buffer first: nothing of theirs comes back
                self._experience.forget(subject)
            counts["events"] = await experience_repo.delete_subject(conn, subject)
            await audit.append(conn, actor.subject, "erase_subject", subject, counts)
        if self._memory is not None:
            self._memory.forget(subject)
        sessions = 0
        if self._sessions is not None:
            try:
                sessions = await self._sessions.erase_subject(subject)
            except StoreUnavailable as exc:
                raise ServiceUnavailable(
                    "Memory and responses were erased; sessions could not be reached. "
                    "Retry to finish.", code="erasure_incomplete",
                    headers={"x-should-retry": "true", "retry-after": "1"}) from exc
        return {"object": "identity.erasure", "subject": subject, "erased": True,
                **counts, "sessions": sessions}

    def issue(self, req: TokenIssueRequest) -> dict[str, Any]:
        """Mint a token for a new alias in the given realm and zone."""
        if req.ttl_seconds > self._max_ttl:
            raise InvalidRequest(f"ttl_seconds may be at most {self._max_ttl}.",
                                 param="ttl_seconds")
        try:
            issued = self._tokens.issue(new_alias(req.realm, req.zone), req.tier,
                                        scopes=req.scopes, ttl_seconds=req.ttl_seconds,
                                        once=req.once)
        except KeyError as exc:
            raise InvalidRequest(f"Unknown tier '{req.tier}'.", param="tier") from exc
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="scopes") from exc
        return {"object": "identity.token", "token": issued.token, "alias": issued.alias,
                "jti": issued.jti, "tier": req.tier, "scopes": list(issued.scopes),
                "expires_at": issued.expires_at, "once": req.once}

    async def revoke(self, req: RevokeRequest) -> dict[str, Any]:
        """Revoke by token (its signature must verify) or by jti, until the token's expiry
        as the server knows it: the token's own `exp`, or for a bare jti the longest
        lifetime the server issues. A caller's `expires_at` may lengthen that, never
        shorten it: a token revoked too briefly would come back to life."""
        if req.token is not None:
            jti, expires_at = self._claims_of(req.token)
        elif req.jti is not None:
            jti, expires_at = req.jti, int(time.time()) + self._max_ttl
        else:
            raise InvalidRequest("Give the 'token' to revoke, or its 'jti'.", param="token")
        if req.expires_at is not None:
            expires_at = max(expires_at, req.expires_at)
        await self._tokens.revoke(jti, expires_at)
        return {"object": "identity.revocation", "jti": jti, "revoked": True,
                "until": expires_at}

    async def verify(self, req: VerifyRequest) -> TokenVerification:
        """What a token carries, or which check it fails (a single-use token is used up by
        this, as by any presentation: it proves something once, to whoever checks it)."""
        try:
            who = await self._tokens.validate(req.token)
        except AuthenticationFailed as failed:
            return TokenVerification(valid=False, code=failed.code, message=failed.message,
                                     alias=None, tier=None, scopes=[], jti=None,
                                     expires_at=None)
        return TokenVerification(valid=True, code=None, message=None, alias=who.subject,
                                 tier=who.tier, scopes=sorted(who.scopes), jti=who.token_id,
                                 expires_at=who.expires_at)

    def tier_check(self, identity: Identity, scope: str) -> TierCheck:
        """Whether the caller may use `scope`, and the lowest tier that grants it."""
        granting = sorted(t for t, s in self._tiers.scopes_by_tier.items() if scope in s)
        if not granting:
            raise InvalidRequest(f"Unknown scope '{scope}'.", param="scope",
                                 code="unknown_scope")
        tier_scopes = self._tiers.scopes_by_tier.get(identity.tier, frozenset())
        return TierCheck(scope=scope, allowed=identity.has_scope(scope), tier=identity.tier,
                         tier_allows=scope in tier_scopes, lowest_tier=granting[0])

    def _claims_of(self, token: str) -> tuple[str, int]:
        try:
            claims = self._tokens.signed_claims(token)
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="token") from exc
        return str(claims["jti"]), int(claims["exp"])
