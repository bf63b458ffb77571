"""Long-term conversational memory: what each caller said, recalled across conversations.

Each subject gets one index, `conversations`, created on its first write. The Memory stage
searches it with the question; the Action stage stores the caller's own words when its
scopes allow. It uses a fast embedder by default (`lukhas-hash-v1`): it runs on every
request, so it must cost microseconds, not a neural model call.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg

from app.core.effects import EffectKind
from app.core.turns import RECALLED, Turn
from app.db.repositories import memory as repo
from app.embeddings.registry import EmbeddingRegistry
from app.ids import ordered_ids
from app.memory.retention import Retention, load_retention
from app.observability.metrics import Metrics

INDEX_NAME = "conversations"
ABSENT_TTL_S = 2.0
log = logging.getLogger("lukhas.memory")


class ConversationMemory:
    def __init__(self, pool: Any, embeddings: EmbeddingRegistry, model: str, metrics: Metrics,
                 *, retention: Retention | None = None, k: int = 5,
                 min_score: float = 0.2) -> None:
        self._retention = retention or load_retention()
        self._pool = pool
        self._embeddings = embeddings
        self._model = model
        self._k = k
        self._min_score = min_score
        self._indexes: dict[str, repo.IndexRow] = {}  # subject → its index, once known
        # Subjects found to have no memory yet, and until when to believe it: another worker
        # may create the index, so the answer is kept only briefly. When it runs out, one
        # request reads it again while the others keep the answer they had: left to each,
        # every request of a busy caller arriving meanwhile took a pooled connection for the
        # same query (measured: 2% of requests 0.1-1 s in the Memory stage, every 2 s).
        self._absent: dict[str, float] = {}
        self._rechecking: set[str] = set()
        self._search = metrics.memory_search_seconds
        self._upsert = metrics.memory_upsert_seconds
        self._dedup = metrics.memory_dedup_dropped

    async def _index(self, conn: Any, subject: str, create: bool) -> repo.IndexRow | None:
        index = self._indexes.get(subject)
        if index is None and not create and self._absent.get(subject, 0.0) > time.monotonic():
            return None
        if index is None:
            index = await repo.get_index_by_name(conn, subject, INDEX_NAME)
            if index is None and create:
                dims = self._embeddings.get(self._model).embedder.dimensions
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", subject)
                    index = await repo.get_index_by_name(conn, subject, INDEX_NAME)
                    if index is None:
                        index = await repo.create_index(
                            conn, id=ordered_ids("idx_", 1)[0], owner=subject,
                            name=INDEX_NAME, model=self._model, dimensions=dims)
            if index is not None:
                self._indexes[subject] = index
                self._absent.pop(subject, None)
            else:
                if len(self._absent) > 100_000:  # bounded: forget the oldest answers
                    self._absent.clear()
                self._absent[subject] = time.monotonic() + ABSENT_TTL_S
        return index

    def forget(self, subject: str) -> None:
        """Drop what is cached about `subject` (after its memory was erased)."""
        self._indexes.pop(subject, None)
        self._absent.pop(subject, None)

    async def recall(self, subject: str, question: str) -> list[Turn]:
        """The caller's earlier statements closest to `question`, best first, each with when
        it was last said (the same words said again are one document, its time renewed)."""
        started = time.perf_counter()
        recheck = subject not in self._indexes and subject in self._absent
        if recheck:
            if self._absent[subject] > time.monotonic() or subject in self._rechecking:
                return []  # known to have no memory: not even a pooled connection
            self._rechecking.add(subject)
        try:
            async with self._pool.acquire() as conn:
                index = await self._index(conn, subject, create=False)
                if index is None:
                    return []
                vector = (await self._embeddings.get(self._model).embed([question]))[0]
                hits = await repo.search(conn, index, vector, self._k,
                                         repo.Filters(current=True))
        finally:
            if recheck:
                self._rechecking.discard(subject)
        self._search.observe(time.perf_counter() - started)
        return [Turn("user", h.content, f"{RECALLED}{h.id}",
                     at=h.updated_at.timestamp() if h.updated_at is not None else None)
                for h in hits if h.score >= self._min_score]

    async def remember(self, subject: str, text: str, lane: str) -> None:
        """Store what the caller said (once: the same words are kept one time)."""
        started = time.perf_counter()
        vector = (await self._embeddings.get(self._model).embed([text]))[0]
        doc = repo.NewDocument(text, vector, lane=lane,
                               expires_at=self._retention.expires_at(lane))
        async with self._pool.acquire() as conn:
            index = await self._index(conn, subject, create=True)
            assert index is not None
            try:
                added = await repo.add_one(conn, index, doc, ordered_ids("mem_", 1)[0])
            except asyncpg.ForeignKeyViolationError:
                # The index was erased (by another worker): forget it and start a new one.
                self.forget(subject)
                index = await self._index(conn, subject, create=True)
                assert index is not None
                added = await repo.add_one(conn, index, doc, ordered_ids("mem_", 1)[0])
        if not added.created:
            self._dedup.inc()
        self._upsert.observe(time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class MemoryWrite:
    """The effect that stores the caller's question in its long-term memory."""

    memory: ConversationMemory
    subject: str
    question: str
    lane: str
    kind: ClassVar[EffectKind] = EffectKind.WRITE_MEMORY

    async def run(self) -> None:
        """Remember the question (a blank one is not kept)."""
        if self.question.strip():
            try:
                await self.memory.remember(self.subject, self.question, self.lane)
            except Exception:
                # The answer is given and stored; a lost memory write is logged, not fatal.
                log.exception("long-term memory write failed")
