"""What the file_search tool adds to a `/v1/responses` call with `lukhas-matriz`.

The app in-process (ASGI, no sockets) on an embedded PostgreSQL; one index of DOCUMENTS
generated paragraphs (`lukhas-hash-v1`, 384 dimensions). Sequentially, one client: the same
questions without the tool, with it (10 results), and with it and a metadata filter; prints
p50/p95/p99 latency of each and the difference the search makes. The database and its data
are in a temporary directory, removed at the end; rate limits that never refuse.

Usage: python bench/file_search.py [DOCUMENTS=2000] [REQUESTS=200]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.db.embedded import EmbeddedPostgres
from app.main import create_app
from app.settings import Settings
from tests.utils.server import generous_limits

KEY = "lk-bench-file-search-0123456789"
TOPICS = ["refunds", "parking", "holidays", "payroll", "security", "travel", "laptops",
          "meetings", "training", "expenses"]
WORDS = ["policy", "team", "office", "request", "manager", "days", "form", "approval",
         "weekly", "online", "staff", "report", "budget", "schedule", "access"]


def paragraph(i: int, rng: random.Random) -> dict[str, Any]:
    topic = TOPICS[i % len(TOPICS)]
    sentences = [f"The {topic} {rng.choice(WORDS)} covers the {rng.choice(WORDS)} "
                 f"{rng.choice(WORDS)} number {i}-{j}." for j in range(4)]
    return {"text": " ".join(sentences),
            "metadata": {"filename": f"{topic}-{i}.md", "year": 2020 + i % 6}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(http: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> list[float]:
    seconds = []
    for body in bodies:
        started = time.perf_counter()
        resp = await http.post("/v1/responses", json=body)
        seconds.append(time.perf_counter() - started)
        assert resp.status_code == 200, resp.text
    return seconds


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, data_dir=Path(tmp), api_keys=KEY,
                                      long_term_memory=False,
                                      rate_limits_file=generous_limits(Path(tmp))))
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                             headers={"Authorization": f"Bearer {KEY}"},
                                             timeout=60) as http:
                    index = (await http.post("/v1/indexes", json={
                        "name": "bench", "model": "lukhas-hash-v1"})).json()["id"]
                    started = time.perf_counter()
                    for start in range(0, n, 500):
                        docs = [paragraph(i, rng) for i in range(start, min(n, start + 500))]
                        added = await http.post(f"/v1/indexes/{index}/documents",
                                                json={"documents": docs})
                        assert added.status_code == 200, added.text
                    load = time.perf_counter() - started
                    print(f"index: {n} documents added in {load:.1f} s")
                    # As autovacuum would soon: without statistics the planner reads every
                    # document of the index through the owner's B-tree instead of the HNSW.
                    async with app.state.lukhas.pool.acquire() as conn:
                        await conn.execute("ANALYZE memory_documents")
                    questions = [f"What does the {rng.choice(TOPICS)} {rng.choice(WORDS)} say?"
                                 for _ in range(requests)]
                    tool = {"type": "file_search", "vector_store_ids": [index]}
                    runs = {
                        "no tool": [{"model": "lukhas-matriz", "input": q, "store": False}
                                    for q in questions],
                        "file_search": [{"model": "lukhas-matriz", "input": q, "store": False,
                                         "tools": [tool]} for q in questions],
                        "file_search + filter": [
                            {"model": "lukhas-matriz", "input": q, "store": False,
                             "tools": [{**tool, "filters": {"type": "gte", "key": "year",
                                                            "value": 2023}}]}
                            for q in questions],
                    }
                    await timed(http, runs["file_search"][:20])  # warm the caches
                    p50s = {}
                    for name, bodies in runs.items():
                        seconds = await timed(http, bodies)
                        p50s[name] = pct(seconds, 0.5)
                        print(f"{name:>22}: p50 {pct(seconds, 0.5) * 1000:6.1f} ms  "
                              f"p95 {pct(seconds, 0.95) * 1000:6.1f} ms  "
                              f"p99 {pct(seconds, 0.99) * 1000:6.1f} ms  ({len(seconds)} requests)")
                    print(f"the search adds {(p50s['file_search'] - p50s['no tool']) * 1000:.1f}"
                          " ms at p50")
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
