"""Long-term recall for a caller with no memory: the answer is kept briefly, and when it
runs out one request reads it again while the others keep it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from app.db.pool import Database, open_pool
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.registry import EmbeddingRegistry
from app.memory.conversations import ConversationMemory
from app.observability.metrics import Metrics


class Counted:
    """The real pool, counting the connections taken from it."""

    def __init__(self, pool: Database) -> None:
        self.pool = pool
        self.acquired = 0

    def acquire(self) -> Any:
        self.acquired += 1
        return self.pool.acquire()


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[Database]:
    db = await open_pool(pg_url, min_size=1, max_size=4)
    yield db
    await db.close()


def _memory(pool: Any) -> ConversationMemory:
    metrics = Metrics(CollectorRegistry())
    models = EmbeddingRegistry([HashingEmbedder(384)], metrics, max_batch=8, max_wait_s=0)
    return ConversationMemory(pool, models, "lukhas-hash-v1", metrics)


async def test_one_request_reads_again_when_the_absence_runs_out(pool: Database) -> None:
    subject = f"lid#absent-{uuid.uuid4().hex[:8]}"
    counted = Counted(pool)
    memory = _memory(counted)
    assert await memory.recall(subject, "What is my name?") == []
    assert counted.acquired == 1
    # Within the answer's lifetime, no connection at all.
    await asyncio.gather(*(memory.recall(subject, "What is my name?") for _ in range(20)))
    assert counted.acquired == 1
    # Run out: twenty requests at once take one connection between them, not twenty.
    memory._absent[subject] = 0.0
    found = await asyncio.gather(*(memory.recall(subject, "What is my name?")
                                   for _ in range(20)))
    assert found == [[]] * 20
    assert counted.acquired == 2


async def test_memory_written_elsewhere_is_seen_once_the_absence_runs_out(
        pool: Database) -> None:
    subject = f"lid#elsewhere-{uuid.uuid4().hex[:8]}"
    here, there = _memory(pool), _memory(pool)  # two workers
    assert await here.recall(subject, "What is my name?") == []
    await there.remember(subject, "My name is Ada Lovelace.", "dev")
    assert await here.recall(subject, "What is my name?") == [], "the absence is believed"
    here._absent[subject] = 0.0
    [turn] = await here.recall(subject, "What is my name?")
    assert turn.text == "My name is Ada Lovelace."
