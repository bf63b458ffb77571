"""Identity management: who am I, issue a token, revoke one."""

from __future__ import annotations

import time
from typing import Any

import jwt

from app.api.identity.protocol import RevokeRequest, TokenIssueRequest
from app.errors import InvalidRequest
from app.identity.alias import new_alias
from app.identity.base import Identity
from app.identity.tokens import LidTokens


def describe(identity: Identity) -> dict[str, Any]:
    """The caller as `GET /v1/identity/me` shows it."""
    return {"object": "identity", "subject": identity.subject, "kind": identity.kind,
            "tier": identity.tier, "scopes": sorted(identity.scopes),
            "token_id": identity.token_id, "expires_at": identity.expires_at}


class IdentityService:
    def __init__(self, tokens: LidTokens, max_ttl_seconds: int) -> None:
        self._tokens = tokens
        self._max_ttl = max_ttl_seconds

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
        """Revoke by token (its signature must verify) or by jti."""
        if req.token is not None:
            jti, expires_at = self._claims_of(req.token)
        elif req.jti is not None:
            jti = req.jti
            expires_at = req.expires_at or int(time.time()) + self._max_ttl
        else:
            raise InvalidRequest("Give the 'token' to revoke, or its 'jti'.", param="token")
        await self._tokens.revoke(jti, expires_at)
        return {"object": "identity.revocation", "jti": jti, "revoked": True,
                "until": expires_at}

    def _claims_of(self, token: str) -> tuple[str, int]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = self._tokens.keyring.get(str(kid))
            if secret is None:
                raise InvalidRequest("The token's key is unknown.", param="token")
            claims = jwt.decode(token, secret, algorithms=["HS256"],
                                options={"verify_exp": False, "verify_nbf": False,
                                         "verify_iat": False})
        except jwt.PyJWTError as exc:
            raise InvalidRequest(f"Not a valid ΛiD token: {exc}.", param="token") from exc
        return str(claims["jti"]), int(claims["exp"])
