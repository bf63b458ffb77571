"""The experience log and the reflection after each pipeline run.

Requests and engines `record` events (intention, action, memory_write, dream_step, reward,
reflection) into a bounded buffer and never wait on the database: the log is a tick engine,
and each tick that finds events pending starts one background write of them all (one COPY a
batch, never two writes at once). A full buffer drops the oldest event, counted in
`lukhas_experience_dropped_total`; a failed write keeps the events for the next tick (within
the bound) and is counted too. At shutdown what is left is written.

The reflection (`reflect`) is built in the Action stage from what the run learnt: what was
asked, the start of the answer, which node answered, with what confidence, what was
recalled, and whether validation agreed; its cost is `lukhas_reflection_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from app.core.turns import RECALLED
from app.db.repositories import experience as repo
from app.db.repositories.experience import ExperienceEvent
from app.matriz.contract import ANSWER_KEPT, RunContext
from app.observability.metrics import Metrics

log = logging.getLogger("lukhas.matriz.experience")

_BATCH = 1000
_RECALLED_MAX = 20  # recalled sources a reflection names


class ExperienceLog:
    """The append-only experience log's writer (a tick engine)."""

    def __init__(self, pool: Any, metrics: Metrics, lane: str, *,
                 max_pending: int = 100_000) -> None:
        self.lane = lane
        self._pool = pool
        self._pending: deque[ExperienceEvent] = deque(maxlen=max_pending)
        self._task: asyncio.Task[int] | None = None
        self.written = 0
        self._m_written = metrics.experience_events.labels(lane=lane)
        self._m_dropped = metrics.experience_dropped.labels(lane=lane)
        self._m_failed = metrics.experience_write_failures.labels(lane=lane)

    def record(self, kind: str, subject: str, ref: str | None, data: dict[str, Any]) -> None:
        """Queue one event; never blocks (the oldest is dropped when the buffer is full)."""
        if kind not in repo.KINDS:
            raise ValueError(f"unknown experience kind {kind!r}")
        if len(self._pending) == self._pending.maxlen:
            self._m_dropped.inc()
        self._pending.append(ExperienceEvent(kind, subject, ref, data, self.lane, time.time()))

    def forget(self, subject: str) -> None:
        """Drop `subject`'s pending events (their erasure deletes what was written)."""
        kept = [e for e in self._pending if e.subject != subject]
        self._pending.clear()
        self._pending.extend(kept)

    def __call__(self, _: Sequence[object]) -> None:
        """Each tick: start a write of what is pending, unless one is running."""
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> int:
        """Write everything pending, in batches; returns how many were written."""
        done = 0
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(_BATCH, len(self._pending)))]
            try:
                async with self._pool.acquire() as conn:
                    await repo.append_many(conn, batch)
            except Exception:
                log.exception("experience log write failed", extra={"events": len(batch)})
                self._m_failed.inc()
                room = (self._pending.maxlen or 0) - len(self._pending)
                kept = batch[len(batch) - room:] if room > 0 else []
                self._m_dropped.inc(len(batch) - len(kept))
                self._pending.extendleft(reversed(kept))
                return done
            done += len(batch)
            self._m_written.inc(len(batch))
        self.written += done
        return done

    async def close(self) -> None:
        """Wait for a running write, then write what is left."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def replay(self, kind: str, limit: int) -> list[dict[str, Any]]:
        """The lane's latest `limit` events of `kind`, oldest first: an engine's state after
        a restart, instead of starting cold."""
        async with self._pool.acquire() as conn:
            return await repo.recent(conn, self.lane, kind, limit)


def confidence(node: str, validated: bool | None) -> float | None:
    """How sure the answer is: 1 when validation agreed, 0 for no answer or a disagreement,
    0.5 for an answer nothing could check; None when the model does not say (upstream)."""
    if validated is True:
        return 1.0
    if node in ("unknown", "none") or validated is False:
        return 0.0
    return 0.5 if node == "statement" else None


def reflect(ctx: RunContext) -> dict[str, Any]:
    """The reflection on one pipeline run."""
    node = ctx.answer_node or "none"
    recalled = [t.source.removeprefix(RECALLED) for t in ctx.history
                if t.source.startswith(RECALLED)]
    return {
        "asked": ctx.question[:ANSWER_KEPT],
        "answered": ctx.answer_text,
        "model": ctx.model,
        "node": node,
        "confidence": confidence(node, ctx.validated),
        "validated": ctx.validated,
        "recalled": recalled[:_RECALLED_MAX],
        "recalled_count": len(recalled),
        "finish_reason": ctx.finish_reason,
        "output_tokens": ctx.usage.output_tokens,
        "seconds": round(time.perf_counter() - ctx.started, 6),
    }
