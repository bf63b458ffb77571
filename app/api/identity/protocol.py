"""Wire models of the identity API (`/v1/identity/...`)."""

from __future__ import annotations

from pydantic import Field

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
