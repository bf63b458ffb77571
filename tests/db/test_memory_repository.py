"""The memory repository on real PostgreSQL with pgvector."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from app.db.migrate import migrate
from app.db.pool import open_pool
from app.db.repositories import memory as repo
from app.ids import new_id, ordered_ids


@pytest.fixture
async def pool(fresh_db_url: str) -> AsyncIterator[Any]:
    await migrate(fresh_db_url)
    p = await open_pool(fresh_db_url, min_size=1, max_size=4)
    yield p
    await p.close()


def unit(seed: int, dims: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dims).astype(np.float32)
    return v / np.linalg.norm(v)


async def make_index(conn: Any, owner: str = "alice", dims: int = 8,
                     metric: str = "cosine") -> repo.IndexRow:
    return await repo.create_index(conn, id=new_id("idx_"), owner=owner,
                                   name=f"n-{uuid.uuid4().hex[:8]}", model="m",
                                   dimensions=dims, metric=metric)


async def test_bulk_add_dedups_and_search_ranks(pool: Any) -> None:
    async with pool.acquire() as conn, conn.transaction():
        index = await make_index(conn)
        docs = [repo.NewDocument(f"doc {i}", unit(i), tags=["t", f"n{i % 2}"],
                                 metadata={"i": i}) for i in range(20)]
        added = await repo.add_many(conn, index, docs, [new_id("mem_") for _ in docs])
        assert all(a.created for a in added)
        again = await repo.add_many(conn, index, [docs[3], repo.NewDocument("new", unit(99))],
                                    [new_id("mem_"), new_id("mem_")])
        assert again[0] == repo.Added(added[3].id, False), "same content: the stored id"
        assert again[1].created
    async with pool.acquire() as conn:
        hits = await repo.search(conn, index, unit(5), k=3)
        assert hits[0].id == added[5].id and hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        odd = await repo.search(conn, index, unit(5), 5, repo.Filters(tags=["n1"]),
                                ef_search=100)
        assert len(odd) == 5 and all("n1" in h.tags for h in odd)
        meta = await repo.search(conn, index, unit(5), 5, repo.Filters(metadata={"i": 4}))
        assert [h.id for h in meta] == [added[4].id]
        stats = await repo.stats(conn, "alice", index.id)
        assert stats == {"documents": 21, "expired": 0, "by_lane": {"default": 21}}


async def test_owner_scope_expiry_and_delete(pool: Any) -> None:
    async with pool.acquire() as conn, conn.transaction():
        index = await make_index(conn)
        past = datetime.now(UTC) - timedelta(seconds=1)
        added = await repo.add_many(conn, index, [
            repo.NewDocument("live", unit(1)), repo.NewDocument("gone", unit(2), expires_at=past)],
            [new_id("mem_"), new_id("mem_")])
    async with pool.acquire() as conn:
        assert await repo.get(conn, "alice", added[0].id) is not None
        assert await repo.get(conn, "mallory", added[0].id) is None
        assert await repo.get(conn, "alice", added[1].id) is None, "expired rows never return"
        assert [h.content for h in await repo.search(conn, index, unit(2), k=5)] == ["live"]
        assert (await repo.stats(conn, "alice", index.id))["expired"] == 1
        assert await repo.get_index(conn, "mallory", index.id) is None
        assert not await repo.delete(conn, "mallory", index.id, added[0].id)
        assert not await repo.delete(conn, "alice", "idx_another", added[0].id), \
            "a document is deleted only through its own index"
        assert await repo.delete(conn, "alice", index.id, added[0].id)


async def test_a_cursor_is_looked_up_among_the_callers_own_rows(pool: Any) -> None:
    async with pool.acquire() as conn, conn.transaction():
        mine = await make_index(conn)
        theirs = await make_index(conn, owner="mallory")
        added = await repo.add_many(conn, mine, [repo.NewDocument(f"d{i}", unit(i))
                                                 for i in range(3)],
                                    ordered_ids("mem_", 3))  # one created_at: ids order
        planted = await repo.add_many(conn, theirs, [repo.NewDocument("x", unit(9))],
                                      [new_id("mem_")])
        page, _ = await repo.list_documents(conn, "alice", mine.id, limit=10,
                                            after=added[2].id, before=None, descending=True)
        assert [r["id"] for r in page] == [added[1].id, added[0].id]
        for cursor in (planted[0].id, "mem_never_made", theirs.id):
            for after, before in ((cursor, None), (None, cursor)):
                for descending in (True, False):
                    assert await repo.list_documents(
                        conn, "alice", mine.id, limit=10, after=after, before=before,
                        descending=descending) == ([], False)
                    assert await repo.list_indexes(
                        conn, "alice", limit=10, after=after, before=before,
                        descending=descending) == ([], False)


async def test_the_query_uses_the_index_hnsw(pool: Any) -> None:
    async with pool.acquire() as conn, conn.transaction():
        index = await make_index(conn, dims=16)
        docs = [repo.NewDocument(f"d{i}", unit(i, 16)) for i in range(300)]
        await repo.add_many(conn, index, docs, [new_id("mem_") for _ in docs])
        await conn.execute("ANALYZE memory_documents")
        await conn.execute("SET LOCAL enable_seqscan = off")
        await conn.execute("SET LOCAL enable_sort = off")  # 300 rows: a sort would be cheaper
        rows = await conn.fetch(
            "EXPLAIN SELECT id FROM memory_documents WHERE index_id = "
            f"'{index.id}' ORDER BY embedding::vector(16) <=> $1 LIMIT 5", unit(1, 16))
        plan = "\n".join(r[0] for r in rows)
        assert f"Index Scan using {repo.hnsw_name(index.id)} " in plan


@pytest.mark.parametrize("metric", ["l2", "inner_product"])
async def test_other_metrics(pool: Any, metric: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        index = await make_index(conn, metric=metric)
        added = await repo.add_many(conn, index, [repo.NewDocument(f"d{i}", unit(i))
                                                  for i in range(5)],
                                    [new_id("mem_") for _ in range(5)])
    async with pool.acquire() as conn:
        hits = await repo.search(conn, index, unit(3), k=2)
        assert hits[0].id == added[3].id


async def test_sweep_leaves_tombstones_and_retention_sets_expiry(pool: Any) -> None:
    from app.memory.retention import ExpirySweeper, Retention

    async with pool.acquire() as conn, conn.transaction():
        index = await make_index(conn)
        past = datetime.now(UTC) - timedelta(seconds=1)
        added = await repo.add_many(conn, index, [
            repo.NewDocument("old", unit(1), expires_at=past),
            repo.NewDocument("new", unit(2), expires_at=datetime.now(UTC) + timedelta(days=1))],
            [new_id("mem_"), new_id("mem_")])
    from prometheus_client import CollectorRegistry

    from app.observability.metrics import Metrics

    registry = CollectorRegistry()
    engine = ExpirySweeper(pool, metrics=Metrics(registry))
    assert await engine.sweep() == 1
    assert registry.get_sample_value("lukhas_memory_documents", {"lane": "default"}) == 1
    async with pool.acquire() as conn:
        reason = await conn.fetchval("SELECT reason FROM memory_tombstones WHERE id = $1",
                                     added[0].id)
        assert reason == "expired"
        assert await repo.get(conn, "alice", added[1].id) is not None
    retention = Retention(365, {"dev": 30})
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retention.expires_at("dev", now) == now + timedelta(days=30)
    assert retention.expires_at("work", now) == now + timedelta(days=365)


async def test_concurrent_identical_writes_all_get_the_one_stored_id(pool: Any) -> None:
    async with pool.acquire() as conn:
        index = await make_index(conn)
    doc = repo.NewDocument("the same words, at once", unit(7))

    async def add_one() -> repo.Added:
        async with pool.acquire() as conn:
            return await repo.add_one(conn, index, doc, new_id("mem_"))

    async def add_many() -> repo.Added:
        async with pool.acquire() as conn, conn.transaction():
            return (await repo.add_many(conn, index, [doc, doc], [new_id("mem_"),
                                                                  new_id("mem_")]))[1]

    for _ in range(5):  # a race needs a few rounds to show
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM memory_documents WHERE index_id = $1", index.id)
        added = await asyncio.gather(*(add_one() for _ in range(6)),
                                     *(add_many() for _ in range(2)))
        assert len({a.id for a in added}) == 1, "one stored document, its id for everyone"
        assert sum(a.created for a in added) <= 1
