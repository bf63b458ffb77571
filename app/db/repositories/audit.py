"""The append-only audit log (migration 0004)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


async def append(conn: Any, actor: str, action: str, subject: str | None,
                 details: Mapping[str, Any]) -> None:
    """Append one record."""
    await conn.execute("INSERT INTO audit_log (actor, action, subject, details)"
                       " VALUES ($1, $2, $3, $4)", actor, action, subject, dict(details))


async def for_subject(conn: Any, subject: str, limit: int = 100) -> list[dict[str, Any]]:
    """A subject's records, oldest first."""
    rows = await conn.fetch("SELECT at, actor, action, subject, details FROM audit_log"
                            " WHERE subject = $1 ORDER BY id LIMIT $2", subject, limit)
    return [dict(r) for r in rows]
