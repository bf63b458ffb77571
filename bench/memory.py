"""Long-term memory at 100,000 documents of 384 dimensions, through the repository.

Prints: bulk insert rate (COPY, batches of 5,000, HNSW dropped during the load), HNSW build
time, search latency p50/p95/p99 and recall@10 against exact search at two `ef_search`
settings (1 client), and queries/s with 8 concurrent clients. The vectors are synthetic but
clustered (like real embeddings, unlike uniform noise), unit length, fixed seed.

Usage: python bench/memory.py [DOCUMENTS=100000] [QUERIES=300]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import open_pool
from app.db.repositories import memory as repo
from app.ids import new_id

DIMS = 384
CLUSTERS = 200


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    labels = rng.integers(0, CLUSTERS, size=n)
    vectors = centres[labels] + 0.6 * rng.normal(size=(n, DIMS)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def exact(conn: Any, index: repo.IndexRow, query: np.ndarray, k: int) -> list[str]:
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_indexscan = off")
        rows = await conn.fetch(
            f"SELECT id FROM memory_documents WHERE index_id = '{index.id}'"
            f" ORDER BY embedding::vector({DIMS}) <=> $1 LIMIT $2", query, k)
    return [r["id"] for r in rows]


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    n_queries = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(CLUSTERS, DIMS)).astype(np.float32)
    data = clustered(n, centres, rng)
    queries = clustered(n_queries, centres, np.random.default_rng(8))  # same clusters
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            await migrate(url)
            pool = await open_pool(url, min_size=8, max_size=9)
            async with pool.acquire() as conn:
                index = await repo.create_index(conn, id=new_id("idx_"), owner="bench",
                                                name="bench", model="bench", dimensions=DIMS)
                await repo.drop_hnsw(conn, index)
                started = time.perf_counter()
                for start in range(0, n, 5000):
                    docs = [repo.NewDocument(f"document {i}", data[i], tags=[f"c{i % 10}"])
                            for i in range(start, min(n, start + 5000))]
                    async with conn.transaction():
                        await repo.add_many(conn, index, docs,
                                            [new_id("mem_") for _ in docs])
                load = time.perf_counter() - started
                print(f"bulk insert: {n} documents in {load:.1f} s = {n / load:,.0f} docs/s")
                await conn.execute("SET maintenance_work_mem = '1GB'")
                started = time.perf_counter()
                await repo.build_hnsw(conn, index)
                print(f"HNSW build (m=16, ef_construction=64): "
                      f"{time.perf_counter() - started:.1f} s")
                await conn.execute("ANALYZE memory_documents")
                truth = [await exact(conn, index, q, 10) for q in queries]
                for ef in (40, 100):
                    times, recalls = [], []
                    for q, want in zip(queries, truth, strict=True):
                        t0 = time.perf_counter()
                        hits = await repo.search(conn, index, q, 10, ef_search=ef)
                        times.append((time.perf_counter() - t0) * 1000)
                        recalls.append(len({h.id for h in hits} & set(want)) / 10)
                    print(f"search ef_search={ef:3}: p50 {pct(times, .5):.2f} ms  "
                          f"p95 {pct(times, .95):.2f} ms  p99 {pct(times, .99):.2f} ms  "
                          f"recall@10 {np.mean(recalls):.3f}")

            async def client(offset: int, until: float) -> int:
                done = 0
                async with pool.acquire() as conn:
                    while time.perf_counter() < until:
                        await repo.search(conn, index, queries[(offset + done) % n_queries], 10,
                                          ef_search=40)
                        done += 1
                return done

            until = time.perf_counter() + 10
            counts = await asyncio.gather(*(client(c * 37, until) for c in range(8)))
            print(f"8 concurrent clients, ef_search=40: {sum(counts) / 10:,.0f} queries/s")
            await pool.close()
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
