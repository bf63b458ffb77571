"""Drift and coherence of the built-in model on the evaluation questions, and what the drift
engine costs the tick per answer.

Runs the app in-process on an embedded PostgreSQL, asks every step of evals/cases/*.jsonl
through `/v1/responses` (each case's steps chained), then prints `GET /v1/admin/drift` for
the lane; then times `DriftEngine.fold` on batches of a tick's size (32 answers).

Usage: PYTHONPATH=. python bench/drift.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from app.db.embedded import EmbeddedPostgres
from app.embeddings.hashing import HashingEmbedder
from app.main import create_app
from app.matriz.drift import DriftEngine
from app.observability.metrics import Metrics
from app.settings import Settings
from bench.asgi_overhead import KEY, unlimited

CASES = Path(__file__).resolve().parents[1] / "evals" / "cases"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, api_keys=KEY, data_dir=Path(tmp),
                                      rate_limits_file=unlimited(Path(tmp)),
                                      log_level="warning"))
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://b",
                                             headers={"Authorization": f"Bearer {KEY}"}) as c:
                    asked = 0
                    for path in sorted(CASES.glob("*.jsonl")):
                        for line in path.read_text().splitlines():
                            case = json.loads(line)
                            previous = None
                            for step in case.get("steps", []):
                                if not isinstance(step.get("input"), str):
                                    continue
                                body = {"model": "lukhas-matriz", "input": step["input"]}
                                if step.get("chain") and previous:
                                    body["previous_response_id"] = previous
                                made = await c.post("/v1/responses", json=body)
                                previous = made.json().get("id")
                                asked += 1
                    await asyncio.sleep(0.5)  # the tick folds the last answers
                    state = (await c.get("/v1/admin/drift")).json()
            print(f"{asked} questions of evals/cases through /v1/responses, lane "
                  f"{state['lane']}: DriftScore v2 {state['ema']:.3f}, coherence "
                  f"{state['coherence']:.3f} (warn {state['warn']}, block {state['block']})")
            for model in state["models"]:
                print(f"  {model['model']}: drift {model['ema']:.3f} over {model['samples']} "
                      "answers")
        finally:
            pg.stop()
    engine = DriftEngine(HashingEmbedder(256), Metrics(CollectorRegistry()), "candidate")
    runs = [("m", f"What is {i}*{i + 1}?", f"{i} * {i + 1} = {i * (i + 1)}.", 1.0)
            for i in range(32)]
    samples = []
    for _ in range(300):
        t0 = time.perf_counter()
        engine.fold(runs)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    print(f"fold of 32 answers (one tick at most): p50 {statistics.median(samples):.0f} µs, "
          f"p95 {samples[int(len(samples) * 0.95)]:.0f} µs")


if __name__ == "__main__":
    asyncio.run(main())
