"""The gathering phase: what in the caller's memory relates to the seed.

The sources are the caller's long-term memory (its `conversations` index) and the indexes the
dream names. Each is searched with the seed embedded by that index's own model, per lane when
the dream names lanes; memories holding a `must_exclude` term are left out. The best
`RECALL_K` of them all are kept, best first (ties by id, so the order never varies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.db.repositories import memory as memory_repo
from app.dreams.types import Constraints, Recalled, SourceKind
from app.embeddings.registry import EmbeddingRegistry
from app.memory.conversations import INDEX_NAME

RECALL_K = 32
# pgvector sums squares in float32: below this, a cosine has no direction (see indexes).
_SMALLEST_DIRECTION = float(np.sqrt(np.finfo(np.float32).tiny))


class Recall:
    def __init__(self, pool: Any, embeddings: EmbeddingRegistry, k: int = RECALL_K) -> None:
        self._pool = pool
        self._embeddings = embeddings
        self._k = k

    async def __call__(self, owner: str, seed: str,
                       c: Constraints) -> tuple[list[Recalled], list[str]]:
        """The recalled memories, best first, and notes on what could not be searched."""
        notes: list[str] = []
        sources: list[tuple[memory_repo.IndexRow, SourceKind]] = []
        async with self._pool.acquire() as conn:
            if c.memory:
                index = await memory_repo.get_index_by_name(conn, owner, INDEX_NAME)
                if index is None:
                    notes.append("You have no long-term memory yet.")
                else:
                    sources.append((index, "memory"))
            for index_id in c.indexes:
                found = await memory_repo.get_index(conn, owner, index_id)
                if found is None:
                    notes.append(f"The index '{index_id}' no longer exists.")
                else:
                    sources.append((found, "index"))
        vectors: dict[str, np.ndarray] = {}
        excluded = [t.lower() for t in c.must_exclude]
        found_all: dict[str, Recalled] = {}
        for index, kind in sources:
            if index.model not in vectors:
                vectors[index.model] = (await self._embeddings.get(index.model).embed([seed]))[0]
            vector = vectors[index.model]
            if index.metric == "cosine" and float(np.max(np.abs(vector))) < _SMALLEST_DIRECTION:
                notes.append(f"The seed has no words the model of '{index.name}' can embed.")
                continue
            async with self._pool.acquire() as conn:
                for lane in c.lanes or (None,):
                    hits = await memory_repo.search(conn, index, vector, self._k,
                                                    memory_repo.Filters(lane=lane))
                    for hit in hits:
                        if any(t in hit.content.lower() for t in excluded):
                            continue
                        at = hit.updated_at.timestamp() if hit.updated_at else None
                        found_all[hit.id] = Recalled(hit.id, hit.content, round(hit.score, 6),
                                                     kind, index.id, hit.lane, at)
        best = sorted(found_all.values(), key=lambda m: (-m.score, m.id))[: self._k]
        return best, notes
