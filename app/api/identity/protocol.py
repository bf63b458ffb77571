"""Wire models of the identity API (`/v1/identity/...`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.responses.protocol import OpenAIModel


class TokenIssueRequest(OpenAIModel):
    realm: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    zone: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    tier: str
    scopes: list[str] | None = None
    ttl_seconds: int = Field(default=3600, ge=1)
    once: bool = False


class RevokeRequest(OpenAIModel):
    token: str | None = None
    jti: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    expires_at: int | None = None


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class IdentityObject(OpenAIModel):
    object: Literal["identity"]
    subject: str
    kind: str
    tier: str
    scopes: list[str]
    token_id: str | None
    expires_at: int | None


class IssuedToken(OpenAIModel):
    object: Literal["identity.token"]
    token: str
    alias: str
    jti: str
    tier: str
    scopes: list[str]
    expires_at: int
    once: bool


class Revocation(OpenAIModel):
    object: Literal["identity.revocation"]
    jti: str
    revoked: bool
    until: int


class Erasure(OpenAIModel):
    object: Literal["identity.erasure"]
    subject: str
    erased: bool
    documents: int
    indexes: int
    responses: int
    sessions: int
