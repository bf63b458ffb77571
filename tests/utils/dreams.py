"""Factories for dream tests: memories written straight through the memory repository, and
waiting for a dream to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from app.db.repositories import memory as repo
from app.ids import ordered_ids
from app.memory.conversations import INDEX_NAME
from app.state import AppState

ENDED = ("completed", "failed", "cancelled", "incomplete")


async def remember(state: AppState, subject: str, texts: Sequence[str], *,
                   lane: str = "default", index_name: str = INDEX_NAME) -> repo.IndexRow:
    """Store `texts` in `subject`'s index `index_name` (long-term memory by default), embedded
    with the memory model, as the service stores what a caller says."""
    model = state.settings.memory_embedding_model
    batcher = state.embedding_models.get(model)
    vectors = await batcher.embed(list(texts)) if texts else []
    async with state.pool.acquire() as conn, conn.transaction():
        index = await repo.get_index_by_name(conn, subject, index_name)
        if index is None:
            index = await repo.create_index(
                conn, id=ordered_ids("idx_", 1)[0], owner=subject, name=index_name,
                model=model, dimensions=batcher.embedder.dimensions)
        if texts:
            docs = [repo.NewDocument(t, v, lane=lane) for t, v in zip(texts, vectors,
                                                                       strict=True)]
            await repo.add_many(conn, index, docs, ordered_ids("mem_", len(docs)))
    return index


async def subject_of(state: AppState, credential: str) -> str:
    """The subject a credential stands for."""
    identity = await state.identities.resolve(credential)
    assert identity is not None
    return identity.subject


async def wait_ended(client: httpx.AsyncClient, dream_id: str, *,
                     headers: dict[str, str] | None = None,
                     seconds: float = 30.0) -> dict[str, Any]:
    """Poll the dream until it ends (at most `seconds`); return it."""
    deadline = time.monotonic() + seconds
    while True:
        got = await client.get(f"/v1/dreams/{dream_id}", headers=headers)
        assert got.status_code == 200, got.text
        if got.json()["status"] in ENDED:
            return dict(got.json())
        assert time.monotonic() < deadline, f"dream still {got.json()['status']}"
        await asyncio.sleep(0.02)
