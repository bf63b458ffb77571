"""A dream over a caller with 10,000 memories, with the built-in model.

Serves the app with uvicorn in this process (embedded PostgreSQL, real HTTP on a free port,
the MATRIZ tick at its default 30 Hz), writes the caller's memories straight through the
memory repository (synthetic statements about people, places and months, embedded with the
memory model, as the service stores what a caller says), then creates dreams with
`stream: true` and prints, over the runs: the time from the POST to the first streamed trace
event (`dream.queued`), to the tick's first move (`dream.gathering`), and to
`dream.completed`; and the median time of each phase, from the trace.

Usage: python bench/dreams.py [MEMORIES=10000] [RUNS=20]
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import uvicorn

from app.db.embedded import EmbeddedPostgres
from app.db.repositories import memory as repo
from app.ids import ordered_ids
from app.main import create_app
from app.memory.conversations import INDEX_NAME
from app.settings import Settings
from app.state import AppState

KEY = "lk-bench-dreams-0123456789abcdef"
NAMES = ["Anna", "Bruno", "Carla", "Dora", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun",
         "Kemal", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tomas"]
PLACES = ["Lisbon", "Porto", "Braga", "Faro", "Madrid", "Paris", "Berlin", "Oslo", "Rome",
          "Vienna", "Prague", "Dublin", "Athens", "Tunis", "Cairo", "Kyoto"]
DOINGS = ["learned to sail", "opened a bakery", "climbed the hills", "met an old friend",
          "lost a red umbrella", "started painting", "sang in a choir", "planted lemon trees",
          "fixed a bicycle", "wrote a letter", "read about the sea", "cooked for neighbours",
          "did not like the rain", "never saw the sea", "ran a marathon", "adopted a cat"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
SEEDS = ["a summer by the sea", "Anna in Lisbon", "what the bakery taught", "the red umbrella",
         "letters from Oslo", "a cat in Kyoto", "lemon trees in Faro", "the marathon"]


def statements(n: int) -> list[str]:
    """`n` distinct statements, the same for every run (fixed seed)."""
    rng = np.random.default_rng(12)
    made: dict[str, None] = {}
    while len(made) < n:
        name, place, doing, month = (rng.choice(x) for x in (NAMES, PLACES, DOINGS, MONTHS))
        made[f"{name} {doing} in {place} in {month}, year {int(rng.integers(1990, 2026))}."] \
            = None
    return list(made)


async def fill(state: AppState, subject: str, texts: list[str]) -> float:
    started = time.perf_counter()
    model = state.settings.memory_embedding_model
    batcher = state.embedding_models.get(model)
    async with state.pool.acquire() as conn, conn.transaction():
        index = await repo.create_index(conn, id=ordered_ids("idx_", 1)[0], owner=subject,
                                        name=INDEX_NAME, model=model,
                                        dimensions=batcher.embedder.dimensions)
        await repo.drop_hnsw(conn, index)  # one build at the end, not one insert at a time
        for start in range(0, len(texts), 2000):
            chunk = texts[start:start + 2000]
            vectors = await batcher.embed(chunk)
            await repo.add_many(conn, index, [repo.NewDocument(t, v) for t, v in zip(
                chunk, vectors, strict=True)], ordered_ids("mem_", len(chunk)))
        await repo.build_hnsw(conn, index)
    return time.perf_counter() - started


async def one_dream(http: httpx.AsyncClient, seed: str) -> dict[str, Any]:
    started = time.perf_counter()
    marks: dict[str, float] = {}
    phases: dict[str, float] = {}
    summary: dict[str, Any] = {}
    async with http.stream("POST", "/v1/dreams", json={
            "model": "lukhas-matriz", "seed": seed, "stream": True}) as resp:
        assert resp.status_code == 200, await resp.aread()
        async for line in resp.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = orjson.loads(line[6:])
            marks.setdefault("first", time.perf_counter() - started)
            kind = event["type"]
            if kind in ("dream.gathering", "dream.completed", "dream.failed",
                        "dream.incomplete"):
                marks[kind] = time.perf_counter() - started
            data = event["data"]
            if "phase_ms" in data and data["from"] != "queued":
                phases[data["from"]] = data["phase_ms"]
            if kind == "dream.completed":
                summary = data["summary"]
    assert "dream.completed" in marks, marks
    return {"marks": marks, "phases": phases, "summary": summary}


def line(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return (f"{label:<38} median {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms   "
            f"max {ms[-1]:8.2f} ms")


async def main(n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, data_dir=Path(tmp), api_keys=KEY,
                                      log_level="warning", rate_limits_file=None))
            config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                    access_log=False)
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
            for _ in range(1200):  # uvicorn has no event for "listening"
                if server.started:
                    break
                await asyncio.sleep(0.05)
            port = server.servers[0].sockets[0].getsockname()[1]
            state: AppState = app.state.lukhas
            identity = await state.identities.resolve(KEY)
            assert identity is not None
            texts = statements(n)
            loaded = await fill(state, identity.subject, texts)
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}; tick {state.settings.tick_hz:g} Hz")
            print(f"{n} memories written in {loaded:.1f} s (memory model "
                  f"{state.settings.memory_embedding_model}, HNSW built once)")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                         headers={"Authorization": f"Bearer {KEY}"}) as http:
                await one_dream(http, "warm-up")
                results = [await one_dream(http, SEEDS[i % len(SEEDS)]) for i in range(runs)]
            s = results[-1]["summary"]
            print(f"{runs} dreams (built-in model, defaults: 5 scenarios); last one recalled "
                  f"{s['memories']} memories, {s['links']} links, {s['scenarios']} scenarios "
                  f"({s['accepted']} accepted), {s['proposals']} proposals")
            print(line("POST → first streamed trace event", [r["marks"]["first"]
                                                            for r in results]))
            print(line("POST → dream.gathering (tick pickup)",
                       [r["marks"]["dream.gathering"] for r in results]))
            print(line("POST → dream.completed", [r["marks"]["dream.completed"]
                                                 for r in results]))
            for phase in ("gathering", "associating", "generating", "critiquing",
                          "consolidating"):
                print(line(f"  phase {phase}", [r["phases"][phase] / 1000 for r in results]))
            server.should_exit = True
            await serving
        finally:
            pg.stop()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [10_000, 20][len(args):])))
