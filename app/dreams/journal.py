"""Writing a dream's trace: events and state changes, one transaction each, under the row lock.

Every change of state is one `dream.<state>` event, written with the new state in the same
transaction, and only if the dream is still in the state the writer last saw (a cancelled or
deleted dream stops its runner's next write, and nothing is numbered twice). Readers waiting
on a dream (its SSE streams) are woken after each write, in this process; a stream served by
another replica finds the events on its next poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.repositories import dreams as repo
from app.dreams.machine import DreamStatus, advance, is_terminal
from app.dreams.types import Constraints
from app.observability.metrics import Metrics

Effect = Callable[[Any], Awaitable[None]]  # runs inside the write's transaction


@dataclass(slots=True)
class Dream:
    """What a writer knows of a dream (its row, as last written by this writer)."""

    id: str
    owner: str
    tier: str
    model: str
    seed: str
    constraints: Constraints
    store: bool
    may_write: bool
    status: DreamStatus
    last_seq: int
    attempts: int
    created_at: datetime
    started_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Dream:
        """From a `dreams` row."""
        return cls(row["id"], row["owner"], row["tier"], row["model"], row["seed"],
                   Constraints.from_json(row["constraints"]), row["store"], row["may_write"],
                   DreamStatus(row["status"]), row["last_seq"], row["attempts"],
                   row["created_at"], row["started_at"])


class Signals:
    """Wakes whoever waits on a dream's next event (in this process)."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Event]] = {}

    def notify(self, dream_id: str) -> None:
        """A dream has new events."""
        for event in self._waiting.pop(dream_id, ()):
            event.set()

    async def wait(self, dream_id: str, seconds: float) -> None:
        """Until the dream's next write here, or `seconds`."""
        event = asyncio.Event()
        self._waiting.setdefault(dream_id, []).append(event)
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            waiting = self._waiting.get(dream_id)
            if waiting is not None and event in waiting:
                waiting.remove(event)
                if not waiting:
                    del self._waiting[dream_id]


class Journal:
    def __init__(self, pool: Any, signals: Signals, metrics: Metrics) -> None:
        self._pool = pool
        self.signals = signals
        self._metrics = metrics

    async def write(self, dream: Dream, events: Sequence[tuple[str, dict[str, Any]]],
                    to: DreamStatus | None = None, *, phase_s: float | None = None,
                    moved: dict[str, Any] | None = None, effect: Effect | None = None,
                    **fields: Any) -> bool:
        """Append `events` (in the current state) and, with `to`, the move to it (its event
        carrying `moved` too); set the dream's columns `fields`. False when the dream is gone
        or no longer in `dream.status` (nothing is written then)."""
        if to is not None:
            advance(dream.status, to)  # IllegalTransition before anything is written
        rows: list[tuple[str, str, dict[str, Any]]] = [
            (kind, dream.status.value, data) for kind, data in events]
        if to is not None:
            move: dict[str, Any] = {"from": dream.status.value, "to": to.value}
            if phase_s is not None:
                move["phase_ms"] = round(phase_s * 1000, 3)
            move.update(moved or {})
            rows.append((f"dream.{to.value}", to.value, move))
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.lock(conn, dream.id)
            if row is None or row["status"] != dream.status.value:
                return False
            await repo.append(conn, dream.id, row["last_seq"] + 1, rows)
            if effect is not None:
                await effect(conn)
            changes = {**fields, "last_seq": row["last_seq"] + len(rows)}
            if to is not None:
                changes["status"] = to.value
                if is_terminal(to):
                    changes.update(ended_at=datetime.now().astimezone(), claimed_until=None)
            await repo.update(conn, dream.id, **changes)
        dream.last_seq += len(rows)
        if to is not None:
            dream.status = to
            if to is DreamStatus.GATHERING:  # the one way out of the queue (machine.py)
                self._metrics.dreams_started.inc()
            if is_terminal(to):
                self._metrics.dreams.labels(status=to.value).inc()
                waited = time.time() - dream.created_at.timestamp()
                self._metrics.dream_seconds.observe(max(0.0, waited))
        self.signals.notify(dream.id)
        return True

    async def end(self, dream: Dream, to: DreamStatus, code: str | None, reason: str | None,
                  summary: dict[str, Any] | None = None, phase_s: float | None = None) -> bool:
        """Move the dream to a terminal state, with why (and what it found)."""
        extra: dict[str, Any] = {"reason_code": code, "reason": reason}
        event: dict[str, Any] = {
            "reason": None if code is None else {"code": code, "message": reason}}
        if summary is not None:
            extra["summary"] = summary
            event["summary"] = summary
        return await self.write(dream, [], to, phase_s=phase_s, moved=event, **extra)
