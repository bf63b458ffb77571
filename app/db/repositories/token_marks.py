"""SQL for the marks about ΛiD tokens: revocations and single uses, each kept until
`expires_at` (a time past which the token is refused anyway)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


async def revoke(conn: Any, jti: str, expires_at: datetime) -> datetime:
    """Record a revocation; a second one never shortens the first. Returns the mark's end."""
    until: datetime = await conn.fetchval(
        "INSERT INTO token_marks (kind, jti, expires_at) VALUES ('revoked', $1, $2)"
        " ON CONFLICT (kind, jti) DO UPDATE"
        " SET expires_at = GREATEST(token_marks.expires_at, EXCLUDED.expires_at)"
        " RETURNING expires_at", jti, expires_at)
    return until


async def revoked_until(conn: Any, jti: str) -> datetime | None:
    """The end of `jti`'s live revocation, or None if it is not revoked."""
    until: datetime | None = await conn.fetchval(
        "SELECT expires_at FROM token_marks"
        " WHERE kind = 'revoked' AND jti = $1 AND expires_at > now()", jti)
    return until


async def claim_use(conn: Any, jti: str, expires_at: datetime) -> bool:
    """Record the one use of a single-use token; True for the first claim only, however
    many workers race (the primary key decides)."""
    claimed = await conn.fetchval(
        "INSERT INTO token_marks (kind, jti, expires_at) VALUES ('used', $1, $2)"
        " ON CONFLICT (kind, jti) DO NOTHING RETURNING true", jti, expires_at)
    return claimed is True


async def sweep_expired(conn: Any, limit: int = 10_000) -> int:
    """Delete up to `limit` marks past their end; return how many."""
    status: str = await conn.execute(
        "DELETE FROM token_marks WHERE ctid IN ("
        " SELECT ctid FROM token_marks WHERE expires_at <= now() LIMIT $1)", limit)
    return int(status.split()[-1])
