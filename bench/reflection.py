"""The reflection and the experience log: what they cost per request.

Two copies of the app on one embedded PostgreSQL, one with the experience log on (the
default: each run's intention, action, memory write and reflection recorded, written on the
tick) and one with it off (`LUKHAS_EXPERIENCE_LOG=false`), driven in interleaved rounds
through ASGI (bench/asgi_overhead.py's harness); then the reflection alone, timed per run
from its own histogram's raw observations.

Usage: PYTHONPATH=. python bench/reflection.py [REQUESTS] [--cpu]
(--cpu: the process's CPU time instead of the wall clock, the tick's writes included; the
difference is a few percent, which the wall clock on a shared machine does not resolve.)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.core.turns import RECALLED, Turn
from app.db.embedded import EmbeddedPostgres
from app.identity.base import Identity
from app.main import create_app
from app.matriz.contract import RunContext
from app.matriz.experience import ExperienceLog, reflect
from app.settings import Settings
from bench.asgi_overhead import KEY, Case, interleaved, unlimited


def reflection_micro(log: ExperienceLog, n: int = 20000) -> tuple[float, float]:
    """p50 and p95, in µs, of one reflection and its four events recorded."""
    history = [Turn("user", f"My name is Ada {i}.", f"{RECALLED}mem_{i:024x}") for i in range(5)]
    ctx = RunContext(identity=Identity(subject="lid#bench", kind="api_key", tier="T3",
                                       scopes=frozenset()),
                     model="lukhas-matriz", question="What is my name?", history=history)
    ctx.answer_node, ctx.validated, ctx.ref = "recall", True, "resp_bench"
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        log.record("intention", "lid#bench", "resp_bench", {"effects": ["store_response"]})
        log.record("action", "lid#bench", "resp_bench", {"effects": ["store_response"]})
        log.record("memory_write", "lid#bench", "resp_bench", {"model": ctx.model})
        log.record("reflection", "lid#bench", "resp_bench", reflect(ctx))
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            def app(on: bool):  # type: ignore[no-untyped-def]
                return create_app(Settings(database_url=url, api_keys=KEY, data_dir=Path(tmp),
                                           rate_limits_file=unlimited(Path(tmp)),
                                           log_level="warning", experience_log=on))
            with_log, without = app(True), app(False)
            async with with_log.router.lifespan_context(with_log), \
                    without.router.lifespan_context(without):
                q = {"model": "lukhas-matriz", "input": "What is 2+2?", "store": False}
                chat = {"model": "lukhas-matriz",
                        "messages": [{"role": "user", "content": "What is 2+2?"}]}
                cases: dict[str, Case] = {
                    "responses, log off": (without, "/v1/responses", q, KEY),
                    "responses, log on": (with_log, "/v1/responses", q, KEY),
                    "chat, log off": (without, "/v1/chat/completions", chat, KEY),
                    "chat, log on": (with_log, "/v1/chat/completions", chat, KEY),
                }
                costs = await interleaved(cases, n)
                log = with_log.state.lukhas.experience
                written = log.written
            print(f"median of 7 interleaved rounds, {n} requests each (CPU inside the app)")
            for name, cost in costs.items():
                print(f"{name:<22} {cost:8.1f} µs/request")
            for route in ("responses", "chat"):
                on, off = costs[f"{route}, log on"], costs[f"{route}, log off"]
                print(f"{route}: the experience log adds {on - off:+.1f} µs "
                      f"({on / off - 1:+.1%}) per request")
            print(f"events written by the tick during the run: {written}")
            p50, p95 = reflection_micro(log)
            print(f"reflection and its events recorded: p50 {p50:.1f} µs, p95 {p95:.1f} µs "
                  "(target: p95 under 10 ms)")
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
