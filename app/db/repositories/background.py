"""SQL for background responses: their status, their runner's lease, their event log.

What a caller asks is scoped to its owner; what the runner does goes by id (it holds the
responses it was given). Bodies change only while a response is unfinished, so a response
cancelled (or deleted) meanwhile is never brought back by the run that held it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNFINISHED = ("queued", "in_progress")
_UNFINISHED_SQL = "status IN ('queued', 'in_progress')"


@dataclass(frozen=True, slots=True)
class BackgroundState:
    background: bool
    status: str
    body: dict[str, Any]


async def insert_queued(
    conn: Any, *, id: str, owner: str, previous_response_id: str | None, model: str,
    input_items: list[dict[str, Any]], body: dict[str, Any], session_id: str | None,
    lease_s: float, events: list[dict[str, Any]],
) -> None:
    """Store a queued response and its first events, together."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO responses (id, owner, previous_response_id, model, status,"
            " input_items, turns, body, session_id, background, lease_until)"
            " VALUES ($1, $2, $3, $4, 'queued', $5, '[]', $6, $7, true,"
            " now() + make_interval(secs => $8))",
            id, owner, previous_response_id, model, input_items, body, session_id, lease_s,
        )
        await append_events(conn, id, events)


async def start(conn: Any, id: str, body: dict[str, Any], lease_s: float) -> bool:
    """Mark a queued response in progress; False if it is no longer queued."""
    status: str = await conn.execute(
        "UPDATE responses SET status = 'in_progress', body = $2,"
        " lease_until = now() + make_interval(secs => $3) WHERE id = $1 AND status = 'queued'",
        id, body, lease_s,
    )
    return status.endswith(" 1")


async def finish(conn: Any, id: str, body: dict[str, Any]) -> bool:
    """End an unfinished response with `body` (its status in it); False if it had ended."""
    status: str = await conn.execute(
        f"UPDATE responses SET status = $2, body = $3, lease_until = NULL"
        f" WHERE id = $1 AND {_UNFINISHED_SQL}",
        id, body["status"], body,
    )
    return status.endswith(" 1")


async def renew(conn: Any, ids: list[str], lease_s: float) -> dict[str, str]:
    """Extend the leases of those of `ids` still unfinished; the status of each of `ids`
    that still exists."""
    await conn.execute(
        f"UPDATE responses SET lease_until = now() + make_interval(secs => $2)"
        f" WHERE id = ANY($1) AND {_UNFINISHED_SQL}",
        ids, lease_s,
    )
    rows = await conn.fetch("SELECT id, status FROM responses WHERE id = ANY($1)", ids)
    return {row["id"]: row["status"] for row in rows}


async def state(conn: Any, owner: str, id: str) -> BackgroundState | None:
    row = await conn.fetchrow(
        "SELECT background, status, body FROM responses WHERE id = $1 AND owner = $2",
        id, owner,
    )
    return None if row is None else BackgroundState(row["background"], row["status"],
                                                    row["body"])


async def status(conn: Any, id: str) -> str | None:
    value: str | None = await conn.fetchval("SELECT status FROM responses WHERE id = $1", id)
    return value


async def cancel(conn: Any, owner: str, id: str) -> dict[str, Any] | None:
    """Mark an unfinished response of `owner` cancelled; its body, or None if it had ended."""
    body: dict[str, Any] | None = await conn.fetchval(
        f"UPDATE responses SET status = 'cancelled', lease_until = NULL,"
        f" body = body || '{{\"status\": \"cancelled\"}}'::jsonb"
        f" WHERE id = $1 AND owner = $2 AND background AND {_UNFINISHED_SQL} RETURNING body",
        id, owner,
    )
    return body


async def fail_lapsed(conn: Any, error: dict[str, str]) -> list[dict[str, Any]]:
    """Mark failed, with `error`, every unfinished response whose lease has lapsed (its
    runner is gone), ending each one's event log with `response.failed`; their bodies."""
    async with conn.transaction():
        rows = await conn.fetch(
            f"UPDATE responses SET status = 'failed', lease_until = NULL,"
            f" body = body || jsonb_build_object('status', 'failed', 'error', $1::jsonb)"
            f" WHERE background AND {_UNFINISHED_SQL} AND lease_until < now()"
            f" RETURNING id, body",
            error,
        )
        for row in rows:
            seq = await next_seq(conn, row["id"])
            await append_events(conn, row["id"], [{
                "type": "response.failed", "sequence_number": seq, "response": row["body"]}])
    return [row["body"] for row in rows]


async def next_seq(conn: Any, id: str) -> int:
    """The sequence number the next event of `id` takes."""
    value: int = await conn.fetchval(
        "SELECT coalesce(max(seq), -1) + 1 FROM response_events WHERE response_id = $1", id)
    return value


async def append_events(conn: Any, id: str, events: list[dict[str, Any]]) -> None:
    """Add events (each with its `sequence_number`) to the log of `id`."""
    await conn.executemany(
        "INSERT INTO response_events (response_id, seq, event) VALUES ($1, $2, $3)",
        [(id, event["sequence_number"], event) for event in events],
    )


async def events_after(conn: Any, id: str, after: int, limit: int = 1000
                       ) -> list[dict[str, Any]]:
    """The events of `id` after sequence number `after`, in order (at most `limit`)."""
    rows = await conn.fetch(
        "SELECT event FROM response_events WHERE response_id = $1 AND seq > $2"
        " ORDER BY seq LIMIT $3",
        id, after, limit,
    )
    return [row["event"] for row in rows]


async def last_event(conn: Any, id: str) -> tuple[int, str] | None:
    """The sequence number and `type` of the last event in the log of `id` (None: none)."""
    row = await conn.fetchrow(
        "SELECT seq, event->>'type' AS type FROM response_events WHERE response_id = $1"
        " ORDER BY seq DESC LIMIT 1", id)
    return None if row is None else (row["seq"], row["type"])


async def status_body(conn: Any, id: str) -> dict[str, Any] | None:
    """The body of `id` with its current status, its row locked until the transaction ends."""
    row = await conn.fetchrow("SELECT status, body FROM responses WHERE id = $1 FOR UPDATE", id)
    return None if row is None else {**row["body"], "status": row["status"]}
