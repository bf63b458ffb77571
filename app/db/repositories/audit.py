"""The append-only, hash-chained audit log (migrations 0004 and 0009).

Every record goes through `audit_append()` in SQL, which locks the chain's head: one chain,
however many workers append at once. `chain()` reads records as `lukhas audit verify`
recomputes them (app/guardian/audit.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_COLUMNS = "id, at, actor, action, subject, details, prev_hash, hash"


async def append(conn: Any, actor: str, action: str, subject: str | None,
                 details: Mapping[str, Any]) -> int:
    """Append one record to the chain; return its id."""
    record_id: int = await conn.fetchval("SELECT audit_append($1, $2, $3, $4)",
                                         actor, action, subject, dict(details))
    return record_id


async def for_subject(conn: Any, subject: str, limit: int = 100) -> list[dict[str, Any]]:
    """A subject's records, oldest first."""
    rows = await conn.fetch("SELECT at, actor, action, subject, details FROM audit_log"
                            " WHERE subject = $1 ORDER BY id LIMIT $2", subject, limit)
    return [dict(r) for r in rows]


async def page(conn: Any, *, after: int | None, before: int | None, limit: int,
               newest_first: bool, action: str | None) -> list[dict[str, Any]]:
    """Up to `limit` records past the cursor, in the order asked, optionally of one action
    (or, ending in `.`, of every action under that prefix)."""
    where: list[str] = []
    args: list[Any] = []
    if after is not None:
        args.append(after)
        where.append(f"id {'<' if newest_first else '>'} ${len(args)}")
    if before is not None:
        args.append(before)
        where.append(f"id {'>' if newest_first else '<'} ${len(args)}")
    if action is not None:
        if action.endswith("."):
            args.append(action.replace("\\", "\\\\").replace("%", "\\%")
                        .replace("_", "\\_") + "%")
            where.append(f"action LIKE ${len(args)}")
        else:
            args.append(action)
            where.append(f"action = ${len(args)}")
    args.append(limit)
    sql = (f"SELECT {_COLUMNS} FROM audit_log"
           f"{' WHERE ' + ' AND '.join(where) if where else ''}"
           f" ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ${len(args)}")
    return [dict(r) for r in await conn.fetch(sql, *args)]


async def chain(conn: Any, after: int, limit: int) -> list[Any]:
    """Records past `after`, oldest first, with the texts their hash is computed over."""
    rows: list[Any] = await conn.fetch(
        "SELECT id, prev_hash, hash, audit_at_text(at) AS at_text, actor, action, subject,"
        " details::text AS details_text FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
        after, limit)
    return rows


async def head(conn: Any) -> tuple[int, str]:
    """The chain head: the last record's id and hash."""
    row = await conn.fetchrow("SELECT last_id, last_hash FROM audit_chain_head")
    return int(row["last_id"]), str(row["last_hash"])
