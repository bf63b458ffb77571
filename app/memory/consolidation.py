"""Consolidation ("sleep"): while a caller is idle, their near-duplicate long-term memories
are merged into folds.

A tick engine. Each turn that wrote to a caller's memory marks them; once they have been idle
for `idle_seconds`, a background pass (never on the tick itself, never two at once) reads
their memories that still speak for themselves, newest first, and clusters them in a worker
thread: each memory takes every older one at a cosine similarity of `similarity` or more. A
cluster becomes a fold (or extends the fold one of its memories already speaks for); the
fold's newest member speaks for it, the others are superseded, and recall returns only the
ones that speak: the newest statement wins, as recall's own rule has it.

The fold guard bounds what one pass may do: at most `max_fan_out` memories added to a fold
by one write, at most `max_depth` extensions of a fold, at most `max_folds` folds written per
`window_seconds`. A pass that reaches a bound stops there and opens a circuit breaker: no
consolidation for `cooldown_seconds`, counted in `lukhas_memory_circuit_breaks_total`. Every
fold is a decision that changes memory: `approve` (the Guardian) sees it first and may refuse
it.

After a restart the marks come back from the experience log's `memory_write` events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import numpy as np
from opentelemetry.trace import Tracer

from app.db.repositories import memory as repo
from app.guardian.memory_guard import MemoryChange, MemoryGuard
from app.ids import ordered_ids
from app.matriz.tick import CognitiveEvent
from app.memory.conversations import INDEX_NAME
from app.observability.metrics import Metrics

log = logging.getLogger("lukhas.memory.consolidation")
SLEEP_REPLAY = 10_000  # memory writes read back from the experience log at start


@dataclass(frozen=True, slots=True)
class FoldGuard:
    max_fan_out: int = 32
    max_depth: int = 4
    max_folds: int = 200
    window_seconds: float = 10.0
    cooldown_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class SleepSettings:
    similarity: float = 0.9
    idle_seconds: float = 30.0
    max_documents: int = 2000  # a caller's memories read by one pass
    callers_per_pass: int = 16


@dataclass(frozen=True, slots=True)
class FoldProposal:
    """What a pass would write: the fold (new or extended) and what it absorbs."""

    subject: str
    fold: repo.FoldRow
    created: bool
    added: tuple[str, ...]  # memories that join it now
    absorbed: tuple[str, ...] = ()  # other folds merged into it
    texts: Mapping[str, str] = field(default_factory=dict)  # id → content, for `approve`


Approve = Callable[[FoldProposal], Awaitable[bool]]


def guarded(guard: MemoryGuard) -> Approve:
    """`approve` through the Guardian's memory guard: a fold is a change to memory the
    service decides by itself."""

    async def approve(proposal: FoldProposal) -> bool:
        verdict = await guard.review(MemoryChange(
            proposal.subject, "fold", proposal.fold.members, list(proposal.texts.values()),
            "sleep"))
        if not verdict.allowed:
            log.info("fold refused by the Guardian", extra={"reason": verdict.reason})
        return verdict.allowed

    return approve


class GuardBreached(Exception):
    """A pass reached one of the fold guard's bounds."""


def clusters(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Rows (newest first) grouped greedily: each unassigned row takes every later
    unassigned row at `similarity` or more. Only groups of two or more."""
    if len(vectors) < 2:
        return []
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    sims = unit @ unit.T
    taken = np.zeros(len(vectors), dtype=bool)
    found = []
    for i in range(len(vectors)):
        if taken[i]:
            continue
        later = np.nonzero((sims[i, i + 1:] >= similarity) & ~taken[i + 1:])[0] + i + 1
        if len(later):
            group = [i, *later.tolist()]
            taken[group] = True
            found.append(group)
    return found


def _array(embedding: Any) -> np.ndarray:
    """An embedding as read from the untyped `vector` column (pgvector's `Vector`)."""
    return np.asarray(embedding.to_numpy() if hasattr(embedding, "to_numpy") else embedding,
                      dtype=np.float32)


class Consolidator:
    """The sleep engine for one lane."""

    def __init__(self, pool: Any, metrics: Metrics, lane: str, *,
                 settings: SleepSettings = SleepSettings(), guard: FoldGuard = FoldGuard(),
                 approve: Approve | None = None, tracer: Tracer | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lane = lane
        self.settings = settings
        self.guard = guard
        self._pool = pool
        self._approve = approve
        self._tracer = tracer
        self._clock = clock
        self._marked: dict[str, float] = {}  # subject → its last memory write
        self._written: list[float] = []  # when folds were written, inside the window
        self.open_until = 0.0
        self.folds = 0
        self._task: asyncio.Task[int] | None = None
        self._m_folds = metrics.memory_folds.labels(lane=lane)
        self._m_breaks = metrics.memory_circuit_breaks.labels(lane=lane)
        self._m_seconds = metrics.memory_consolidation_seconds.labels(lane=lane)

    def mark(self, subject: str, at: float | None = None) -> None:
        """`subject` wrote to their memory (at `at`, on this engine's clock)."""
        self._marked[subject] = self._clock() if at is None else at

    def __call__(self, events: Sequence[CognitiveEvent]) -> None:
        """Mark the tick's memory writers; start a pass for idle ones, if none is running
        and the breaker is closed."""
        for event in events:
            if event.wrote_memory and event.subject:
                self.mark(event.subject)
        now = self._clock()
        if not self._marked or now < self.open_until:
            return
        if self._task is not None and not self._task.done():
            return
        idle = [s for s, at in self._marked.items() if now - at >= self.settings.idle_seconds]
        if idle:
            chosen = idle[: self.settings.callers_per_pass]
            self._task = asyncio.get_running_loop().create_task(self.run(chosen))

    async def run(self, subjects: Sequence[str]) -> int:
        """One pass over `subjects`; returns how many folds it wrote."""
        started = time.perf_counter()
        before = self.folds
        span = (self._tracer.start_span("consciousness.consolidate",
                                        attributes={"lukhas.lane": self.lane,
                                                    "lukhas.callers": len(subjects)})
                if self._tracer is not None else None)
        try:
            for subject in subjects:
                self._marked.pop(subject, None)
                await self.consolidate(subject)
        except GuardBreached as breach:
            self.open_until = self._clock() + self.guard.cooldown_seconds
            self._m_breaks.inc()
            log.warning("consolidation paused: fold guard reached",
                        extra={"lane": self.lane, "bound": str(breach)})
            for subject in subjects:  # unfinished callers wait for the breaker to close
                self._marked.setdefault(subject, 0.0)
        except Exception:
            log.exception("consolidation pass failed")
        finally:
            written = self.folds - before
            self._m_seconds.observe(time.perf_counter() - started)
            if span is not None:
                span.set_attribute("lukhas.folds", written)
                span.end()
        return written

    async def consolidate(self, subject: str) -> int:
        """Fold `subject`'s near-duplicate memories; returns how many folds were written."""
        async with self._pool.acquire() as conn:
            index = await repo.get_index_by_name(conn, subject, INDEX_NAME)
            if index is None:
                return 0
            rows = await repo.fold_candidates(conn, index.id, self.settings.max_documents)
        if len(rows) < 2:
            return 0
        vectors = np.asarray([_array(r["embedding"]) for r in rows], dtype=np.float32)
        groups = await anyio.to_thread.run_sync(clusters, vectors, self.settings.similarity)
        written = 0
        for group in groups:
            members = [rows[i] for i in group]
            async with self._pool.acquire() as conn:
                proposal = await self._propose(conn, subject, index, members)
                if proposal is None:
                    continue
                if self._approve is not None and not await self._approve(proposal):
                    continue
                self._admit()
                async with conn.transaction():
                    await repo.write_fold(conn, index.id, index.owner, proposal.fold,
                                         proposal.created)
                    if proposal.absorbed:
                        await conn.execute("DELETE FROM memory_folds WHERE id = ANY($1::text[])",
                                           list(proposal.absorbed))
            written += 1
            self.folds += 1
            self._m_folds.inc()
        return written

    async def _propose(self, conn: Any, subject: str, index: repo.IndexRow,
                       members: list[dict[str, Any]]) -> FoldProposal | None:
        """The fold `members` (newest first) make, within the guard's fan-out and depth."""
        existing = await repo.folds(conn, index.id, [m["fold"] for m in members if m["fold"]])
        known = sorted(existing.values(), key=lambda f: f.id)
        already = {member for fold in known for member in fold.members}
        new = [m["id"] for m in members if m["id"] not in already]
        if len(new) > self.guard.max_fan_out:
            raise GuardBreached(f"fan-out {len(new)} > {self.guard.max_fan_out}")
        depth = max((f.depth for f in known), default=0) + 1
        if depth > self.guard.max_depth:
            raise GuardBreached(f"depth {depth} > {self.guard.max_depth}")
        target = known[0] if known else None
        fold = repo.FoldRow(
            id=target.id if target is not None else ordered_ids("fold_", 1)[0],
            representative=members[0]["id"],  # the newest speaks for the fold
            members=[*sorted(already), *new], depth=depth)
        return FoldProposal(subject, fold, target is None, tuple(new),
                            tuple(f.id for f in known[1:]),
                            {m["id"]: m["content"] for m in members})

    def _admit(self) -> None:
        now = self._clock()
        self._written = [t for t in self._written if now - t < self.guard.window_seconds]
        if len(self._written) >= self.guard.max_folds:
            raise GuardBreached(f"{len(self._written)} folds in {self.guard.window_seconds} s")
        self._written.append(now)

    def replay(self, memory_writes: Sequence[Mapping[str, Any]]) -> None:
        """Mark the callers whose memory writes the experience log holds (after a restart:
        they are idle since)."""
        for event in memory_writes:
            self._marked.setdefault(str(event["subject"]), 0.0)

    async def close(self) -> None:
        """Let a running pass finish."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
