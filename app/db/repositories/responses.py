"""SQL for stored responses. Every query is scoped to the owner: no caller sees another's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MAX_CHAIN = 256


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    owner: str
    input_items: list[dict[str, Any]]
    turns: list[dict[str, Any]]
    body: dict[str, Any]


async def insert(
    conn: Any,
    *,
    id: str,
    owner: str,
    previous_response_id: str | None,
    model: str,
    status: str,
    input_items: list[dict[str, Any]],
    turns: list[dict[str, Any]],
    body: Any,  # the Response object (a dataclass, or its JSON)
    session_id: str | None = None,
    keep_existing: bool = False,
) -> None:
    """Store one response; with `keep_existing`, a response already stored under `id`
    stays as it is. A background response's row exists from when it was queued: its end
    updates it while it is unfinished (one cancelled or deleted meanwhile stays so). Only
    its cancel request cancels it: a run stopped otherwise is ended by its runner."""
    background = (body.get("background") if isinstance(body, dict)
                  else getattr(body, "background", False))
    if background:
        await conn.execute(
            "UPDATE responses SET status = $3, input_items = $4, turns = $5, body = $6,"
            " session_id = $7, lease_until = NULL WHERE id = $1 AND owner = $2"
            " AND status IN ('queued', 'in_progress') AND $3 <> 'cancelled'",
            id, owner, status, input_items, turns, body, session_id,
        )
        return
    await conn.execute(
        "INSERT INTO responses (id, owner, previous_response_id, model, status, input_items,"
        " turns, body, session_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        + (" ON CONFLICT (id) DO NOTHING" if keep_existing else ""),
        id, owner, previous_response_id, model, status, input_items, turns, body, session_id,
    )


async def get(conn: Any, owner: str, id: str) -> StoredResponse | None:
    """One response of `owner`, or None."""
    row = await conn.fetchrow(
        "SELECT id, owner, input_items, turns, body FROM responses WHERE id = $1 AND owner = $2",
        id, owner,
    )
    return None if row is None else StoredResponse(**dict(row))


async def delete(conn: Any, owner: str, id: str) -> bool:
    """Delete one response of `owner`; False if there was none."""
    status: str = await conn.execute(
        "DELETE FROM responses WHERE id = $1 AND owner = $2", id, owner
    )
    return status.endswith(" 1")


@dataclass(frozen=True, slots=True)
class Chain:
    turns: list[dict[str, Any]]  # oldest first, each with `at`: its response's creation time
    session_id: str | None  # the session of the newest response in the chain


async def delete_owner(conn: Any, owner: str) -> int:
    """Delete every response of `owner`; return how many."""
    status: str = await conn.execute("DELETE FROM responses WHERE owner = $1", owner)
    return int(status.split()[-1])


async def chain_turns(conn: Any, owner: str, id: str) -> Chain | None:
    """The turns of `id` and its ancestors; None if `id` is not `owner`'s.

    The walk stops at a missing or foreign ancestor: a chain never crosses owners.
    """
    rows = await conn.fetch(
        """
        WITH RECURSIVE chain AS (
            SELECT id, previous_response_id, turns, session_id, created_at, 0 AS depth
              FROM responses WHERE id = $1 AND owner = $2
            UNION ALL
            SELECT r.id, r.previous_response_id, r.turns, r.session_id, r.created_at,
                   c.depth + 1
              FROM responses r JOIN chain c ON r.id = c.previous_response_id
             WHERE r.owner = $2 AND c.depth < $3
        )
        SELECT turns, session_id, created_at FROM chain ORDER BY depth DESC
        """,
        id, owner, _MAX_CHAIN,
    )
    if not rows:
        return None
    return Chain([{**turn, "at": row["created_at"].timestamp()}
                  for row in rows for turn in row["turns"]], rows[-1]["session_id"])
