"""The experience log (migrations/*_experience.sql): appended by the tick, read by window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = ("intention", "action", "memory_write", "dream_step", "reward", "reflection")
_COLUMNS = ("at", "lane", "subject", "kind", "ref", "data")


@dataclass(frozen=True, slots=True)
class ExperienceEvent:
    """One event, as a request or an engine records it (`at`: Unix seconds)."""

    kind: str
    subject: str
    ref: str | None
    data: dict[str, Any]
    lane: str
    at: float = field(default=0.0)


async def append_many(conn: Any, events: Sequence[ExperienceEvent]) -> int:
    """Append `events` with one COPY; returns how many."""
    if not events:
        return 0
    records = [(datetime.fromtimestamp(e.at, UTC), e.lane, e.subject, e.kind, e.ref, e.data)
               for e in events]
    await conn.copy_records_to_table("experience_events", records=records, columns=_COLUMNS)
    return len(records)


async def window(conn: Any, *, subject: str | None, kinds: Sequence[str],
                 since: datetime | None, until: datetime | None, after: int | None,
                 limit: int) -> list[dict[str, Any]]:
    """Events in id order (after the cursor `after`), filtered by subject, kinds and time."""
    where: list[str] = ["TRUE"]
    args: list[Any] = []
    for clause, value in (("subject = ${}", subject), ("at >= ${}", since),
                          ("at < ${}", until), ("id > ${}", after)):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    if kinds:
        args.append(list(kinds))
        where.append(f"kind = ANY(${len(args)}::text[])")
    args.append(limit)
    rows = await conn.fetch(
        f"SELECT id, at, lane, subject, kind, ref, data FROM experience_events"
        f" WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(args)}", *args)
    return [dict(r) for r in rows]


async def recent(conn: Any, lane: str, kind: str, limit: int) -> list[dict[str, Any]]:
    """The lane's latest `limit` events of `kind`, oldest first (for a replay)."""
    rows = await conn.fetch(
        "SELECT id, at, subject, ref, data FROM (SELECT * FROM experience_events"
        " WHERE lane = $1 AND kind = $2 ORDER BY id DESC LIMIT $3) AS latest ORDER BY id",
        lane, kind, limit)
    return [dict(r) for r in rows]


async def delete_subject(conn: Any, subject: str) -> int:
    """A subject's erasure: every event of theirs."""
    status: str = await conn.execute("DELETE FROM experience_events WHERE subject = $1", subject)
    return int(status.split()[-1])
