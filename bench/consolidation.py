"""Consolidation under the tick: 100 callers with 1,000 memories each, all idle, consolidated
while the tick runs at 30 Hz and takes 1,000 cognitive events a second.

Prints the tick's own duration (p50, p95, max: the target is a p95 of 35 ms, the candidate
lane's budget), how late ticks started (what a background pass costs the loop), events
dropped, and how long the passes took to fold everything.

Usage: PYTHONPATH=. python bench/consolidation.py [CALLERS] [MEMORIES]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import open_pool
from app.db.repositories import memory as repo
from app.embeddings.hashing import HashingEmbedder
from app.ids import ordered_ids
from app.matriz.tick import CognitiveEvent, Tick
from app.memory.consolidation import Consolidator, FoldGuard, SleepSettings
from app.memory.conversations import INDEX_NAME
from app.observability.metrics import Metrics

PLACES = ["Paris", "Lisbon", "Oslo", "Kyoto", "Lima", "Cairo", "Quito", "Perth"]
THINGS = ["teal", "jazz", "chess", "tea", "rain", "maps", "bees", "glass"]


def statements(n: int, rng: random.Random) -> list[str]:
    """Distinct statements, one in ten said again in other words (a near-duplicate)."""
    out = []
    for i in range(n):
        if i and i % 10 == 0:
            out.append(out[i - 1].rstrip(".") + " now.")
        else:
            out.append(f"I note fact {i}: {rng.choice(THINGS)} in {rng.choice(PLACES)} "
                       f"on day {rng.randrange(10_000)}.")
    return out


async def main() -> None:
    callers = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    memories = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(7)
    embedder = HashingEmbedder(384)
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            await migrate(url)
            pool = await open_pool(url, min_size=2, max_size=10)
            started = time.perf_counter()
            subjects = [f"lid#bench-{i}" for i in range(callers)]
            for subject in subjects:
                texts = statements(memories, rng)
                async with pool.acquire() as conn, conn.transaction():
                    index = await repo.create_index(
                        conn, id=ordered_ids("idx_", 1)[0], owner=subject, name=INDEX_NAME,
                        model="lukhas-hash-v1", dimensions=384)
                    vectors = embedder.embed(texts)
                    docs = [repo.NewDocument(t, v) for t, v in zip(texts, vectors, strict=True)]
                    await repo.add_many(conn, index, docs, ordered_ids("mem_", len(docs)))
            print(f"{callers} callers x {memories} memories loaded in "
                  f"{time.perf_counter() - started:.1f} s")
            metrics = Metrics(CollectorRegistry())
            sleep = Consolidator(pool, metrics, "candidate",
                                 settings=SleepSettings(idle_seconds=0),
                                 guard=FoldGuard(max_folds=100_000))
            for subject in subjects:
                sleep.mark(subject, at=0.0)
            tick = Tick(metrics, "candidate", hz=30, buffer_size=4096, engines=[sleep])
            durations: list[float] = []
            late: list[float] = []
            began = time.perf_counter()
            next_at = time.monotonic()
            sent = 0
            while sleep._marked or (sleep._task is not None and not sleep._task.done()):
                now = time.monotonic()
                late.append(max(0.0, now - next_at))
                for _ in range(33):  # ~1,000 events a second at 30 ticks a second
                    tick.publish(CognitiveEvent("turn", "arithmetic", 0.001))
                    sent += 1
                durations.append(tick.run_once())
                next_at += 1 / 30
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            took = time.perf_counter() - began
            durations.sort()
            late.sort()
            ms = [d * 1000 for d in durations]
            print(f"consolidation: {sleep.folds} folds for {callers} callers in {took:.1f} s "
                  f"({len(durations)} ticks)")
            print(f"tick duration: p50 {statistics.median(ms):.3f} ms, "
                  f"p95 {ms[int(len(ms) * 0.95)]:.3f} ms, max {ms[-1]:.3f} ms "
                  "(target: p95 <= 35 ms)")
            print(f"tick start lateness: p50 {statistics.median(late) * 1000:.1f} ms, "
                  f"p95 {late[int(len(late) * 0.95)] * 1000:.1f} ms")
            print(f"events: {sent} published, {tick.dropped} dropped")
            await pool.close()
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
