"""SQL for dreams, their trace (`dream_steps`) and their scenarios.

Every read a caller makes is scoped to the owner; the runner's reads are by id. Writes that
move a dream take its row lock first (`lock`), so the runner and a cancelling request append
to the trace one after the other and never number two events alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.db.repositories import memory
from app.db.repositories.paging import keyset_page

TERMINAL = ("completed", "failed", "cancelled", "incomplete")
_OPEN = "status NOT IN ('completed', 'failed', 'cancelled', 'incomplete')"


async def create(conn: Any, *, id: str, owner: str, tier: str, model: str, seed: str,
                 constraints: dict[str, Any], metadata: dict[str, str], store: bool,
                 may_write: bool) -> Any:
    """Insert a queued dream; return its row."""
    return await conn.fetchrow(
        "INSERT INTO dreams (id, owner, tier, model, seed, constraints, metadata, store,"
        " may_write) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
        id, owner, tier, model, seed, constraints, metadata, store, may_write)


async def get(conn: Any, owner: str, dream_id: str) -> Any:
    """One of `owner`'s dreams, or None."""
    return await conn.fetchrow("SELECT * FROM dreams WHERE id = $1 AND owner = $2",
                               dream_id, owner)


async def lock(conn: Any, dream_id: str) -> Any:
    """The dream's row, locked until the transaction ends (None when it is gone)."""
    return await conn.fetchrow("SELECT * FROM dreams WHERE id = $1 FOR UPDATE", dream_id)


async def append(conn: Any, dream_id: str, first_seq: int,
                 events: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
    """Add `(type, status, data)` trace events numbered from `first_seq` (under the dream's
    lock)."""
    await conn.executemany(
        "INSERT INTO dream_steps (dream_id, seq, type, status, data) VALUES ($1, $2, $3, $4, $5)",
        [(dream_id, first_seq + i, kind, status, data)
         for i, (kind, status, data) in enumerate(events)])


async def update(conn: Any, dream_id: str, **fields: Any) -> None:
    """Set columns of the dream (`status` changes pass the transition trigger)."""
    names = list(fields)
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    await conn.execute(f"UPDATE dreams SET {sets} WHERE id = $1", dream_id,
                       *(fields[n] for n in names))


async def claim(conn: Any, lease_s: float) -> Any:
    """Take the oldest open dream nobody holds, for `lease_s` seconds; count the attempt."""
    return await conn.fetchrow(
        "UPDATE dreams SET claimed_until = clock_timestamp() + make_interval(secs => $1),"
        " attempts = attempts + 1 WHERE id = (SELECT id FROM dreams WHERE " + _OPEN +
        " AND (claimed_until IS NULL OR claimed_until < clock_timestamp())"
        " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *", lease_s)


async def renew(conn: Any, dream_id: str, lease_s: float) -> bool:
    """Extend the claim of a dream still open; False when it ended or is gone."""
    status: str = await conn.execute(
        "UPDATE dreams SET claimed_until = clock_timestamp() + make_interval(secs => $2)"
        " WHERE id = $1 AND " + _OPEN, dream_id, lease_s)
    return status.endswith(" 1")


async def steps(conn: Any, dream_id: str, after: int, limit: int = 500) -> list[Any]:
    """Trace events numbered after `after`, in order."""
    rows: list[Any] = await conn.fetch(
        "SELECT seq, type, status, at, data FROM dream_steps WHERE dream_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3", dream_id, after, limit)
    return rows


async def steps_of(conn: Any, dream_id: str, types: Sequence[str]) -> list[Any]:
    """The dream's events of these types, in order (a resumed dream reads its phases)."""
    rows: list[Any] = await conn.fetch(
        "SELECT seq, type, data FROM dream_steps WHERE dream_id = $1 AND type = ANY($2)"
        " ORDER BY seq", dream_id, list(types))
    return rows


async def add_scenarios(conn: Any, dream_id: str,
                        scenarios: Sequence[tuple[str, str, list[str]]]) -> None:
    """Store `(id, text, cites)` in order."""
    await conn.executemany(
        "INSERT INTO dream_scenarios (dream_id, position, id, text, cites)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(dream_id, i, sid, text, cites) for i, (sid, text, cites) in enumerate(scenarios)])


async def judge_scenarios(conn: Any, dream_id: str,
                          verdicts: Sequence[tuple[str, str, float, float, dict[str, Any]]],
                          ) -> None:
    """Record `(id, verdict, novelty, support, critique)` of each scenario."""
    await conn.executemany(
        "UPDATE dream_scenarios SET verdict = $3, novelty = $4, support = $5, critique = $6"
        " WHERE dream_id = $1 AND id = $2", [(dream_id, *v) for v in verdicts])


async def scenarios(conn: Any, dream_id: str) -> list[Any]:
    """The dream's scenarios, in order."""
    rows: list[Any] = await conn.fetch(
        "SELECT id, text, cites, verdict, novelty, support, critique FROM dream_scenarios"
        " WHERE dream_id = $1 ORDER BY position", dream_id)
    return rows


async def scenarios_of(conn: Any, dream_ids: Sequence[str]) -> dict[str, list[Any]]:
    """The scenarios of several dreams (one listing page), each dream's in order."""
    rows = await conn.fetch(
        "SELECT dream_id, id, text, cites, verdict, novelty, support, critique"
        " FROM dream_scenarios WHERE dream_id = ANY($1) ORDER BY dream_id, position",
        list(dream_ids))
    found: dict[str, list[Any]] = {}
    for row in rows:
        found.setdefault(row["dream_id"], []).append(row)
    return found


async def page(conn: Any, owner: str, *, limit: int, after: str | None, before: str | None,
               descending: bool) -> tuple[list[Any], bool]:
    """One page of `owner`'s dreams by creation, and whether more follow."""
    return await keyset_page(conn, "dreams", "owner = $1", [owner], limit=limit, after=after,
                             before=before, descending=descending)


async def delete(conn: Any, owner: str, dream_id: str) -> bool:
    """Delete one of `owner`'s dreams with its trace and scenarios."""
    status: str = await conn.execute("DELETE FROM dreams WHERE id = $1 AND owner = $2",
                                     dream_id, owner)
    return status.endswith(" 1")


async def delete_owner(conn: Any, owner: str) -> int:
    """Delete every dream of `owner` (an erasure); a running one stops at its next write."""
    status: str = await conn.execute("DELETE FROM dreams WHERE owner = $1", owner)
    return int(status.split()[-1])


async def delete_unstored(conn: Any, older_than_s: float) -> int:
    """Delete dreams created with `store: false` that ended over `older_than_s` ago (their
    stream, which deletes them, went away before the end)."""
    status: str = await conn.execute(
        "DELETE FROM dreams WHERE NOT store AND ended_at < clock_timestamp()"
        " - make_interval(secs => $1)", older_than_s)
    return int(status.split()[-1])


async def vectors(conn: Any, owner: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
    """The stored embeddings of `owner`'s documents `ids`."""
    rows = await conn.fetch("SELECT id, embedding FROM memory_documents"
                            " WHERE owner = $1 AND id = ANY($2)", owner, list(ids))
    return {r["id"]: np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in rows}


async def fold(conn: Any, owner: str, fold_id: str, members: Sequence[str]) -> int:
    """Merge `owner`'s long-term memories `members` that are in no fold yet, as consolidation
    merges near-duplicates (app/memory/consolidation.py): a fold per index holding two or
    more of them, its newest member speaking for it and the others superseded, so recall
    returns what the fold says. How many documents were folded."""
    rows = await conn.fetch(
        "SELECT id, index_id FROM memory_documents WHERE owner = $1 AND id = ANY($2)"
        " AND fold IS NULL AND NOT superseded ORDER BY updated_at DESC, id DESC",
        owner, list(members))
    by_index: dict[str, list[str]] = {}
    for r in rows:
        by_index.setdefault(r["index_id"], []).append(r["id"])
    folded = 0
    for n, (index_id, ids) in enumerate(sorted(by_index.items())):
        if len(ids) < 2:
            continue
        row = memory.FoldRow(fold_id if n == 0 else f"{fold_id}_{n}", ids[0], sorted(ids), 1)
        await memory.write_fold(conn, index_id, owner, row, created=True)
        folded += len(ids)
    return folded
