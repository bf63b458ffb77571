"""Wire models of the identity API (`/v1/identity/...`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.protocol import OpenAIModel


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
    expires_at: int | None = Field(default=None, ge=1)  # Unix time


class AccountCreateRequest(OpenAIModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=4096)
    realm: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    zone: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")


class AccountTierRequest(OpenAIModel):
    tier: str


class AuthenticateRequest(OpenAIModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=4096)
    totp_code: str | None = Field(default=None, max_length=64)
    scopes: list[str] | None = None
    ttl_seconds: int | None = Field(default=None, ge=1)


class TotpConfirmRequest(OpenAIModel):
    code: str = Field(max_length=64)


class VerifyRequest(OpenAIModel):
    token: str = Field(max_length=16384)


class WireObject(BaseModel):
    """What goes out: every field always present (null when it does not apply)."""

    model_config = ConfigDict(extra="forbid")


class AccountObject(WireObject):
    object: Literal["identity.account"] = "identity.account"
    id: str
    username: str
    alias: str
    max_tier: str
    totp_enabled: bool
    locked_until: int | None
    failed_attempts: int
    created_at: int


class AccountToken(WireObject):
    object: Literal["identity.token"] = "identity.token"
    token: str
    token_type: Literal["bearer"] = "bearer"
    alias: str
    jti: str
    tier: str
    scopes: list[str]
    expires_at: int
    expires_in: int
    account_id: str
    factors: list[str]


class TotpEnrollment(WireObject):
    object: Literal["identity.totp_enrollment"] = "identity.totp_enrollment"
    secret: str
    provisioning_uri: str
    issuer: str
    algorithm: Literal["SHA1"] = "SHA1"
    digits: int
    period: int


class TokenVerification(WireObject):
    object: Literal["identity.token_verification"] = "identity.token_verification"
    valid: bool
    code: str | None
    message: str | None
    alias: str | None
    tier: str | None
    scopes: list[str]
    jti: str | None
    expires_at: int | None


class TierCheck(WireObject):
    object: Literal["identity.tier_check"] = "identity.tier_check"
    scope: str
    allowed: bool
    tier: str
    tier_allows: bool
    lowest_tier: str | None


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
    conversations: int
    events: int  # experience log events
    dreams: int
    sessions: int
