"""What background mode costs, against the same response made in the foreground.

Drives the app in-process (lifespan running, embedded PostgreSQL, no network) with
`lukhas-matriz`, one request at a time: the median and p95 latency of a stored foreground
response; of a background create (until it answers `queued`); of a background response from
its create to its last event (`stream: true`, followed from the event log); and the time for a
burst of BURST background responses, created at once, to all end (the runner's slots bound
how many run together). Prints the figures.

Usage: python bench/background.py [RUNS=50] [BURST=64]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.db.embedded import EmbeddedPostgres
from app.main import create_app
from app.settings import Settings
from bench.timing import line as _line
from bench.timing import timed


def line(label: str, seconds: list[float]) -> str:
    return _line(label, seconds, 48)


KEY = "lk-bench-background-0123456789ab"
BODY = {"model": "lukhas-matriz", "input": "What is 12*12?"}




async def run(http: httpx.AsyncClient, background: Any, runs: int, burst: int) -> None:
    async def foreground() -> None:
        assert (await http.post("/v1/responses", json=BODY)).json()["status"] == "completed"

    async def queued() -> None:
        resp = await http.post("/v1/responses", json={**BODY, "background": True})
        assert resp.json()["status"] == "queued"

    async def to_the_end() -> None:
        resp = await http.post("/v1/responses",
                               json={**BODY, "background": True, "stream": True})
        assert b"event: response.completed" in resp.content

    async def idle() -> None:
        for _ in range(60_000):  # at most 5 minutes
            if not background.held:
                return
            await asyncio.sleep(0.005)
        raise TimeoutError("background responses still held")

    await timed(5, foreground)  # warm up
    print(line("foreground create (stored)", await timed(runs, foreground)))
    queued_times = await timed(runs, queued)
    await idle()
    print(line("background create, answered queued", queued_times))
    print(line("background create to its last event (streamed)",
               await timed(runs, to_the_end)))
    started = time.perf_counter()
    answers = await asyncio.gather(*(http.post("/v1/responses",
                                               json={**BODY, "background": True})
                                     for _ in range(burst)))
    created = time.perf_counter() - started
    await idle()
    ended = time.perf_counter() - started
    assert all(a.json()["status"] == "queued" for a in answers)
    done = [(await http.get(f"/v1/responses/{a.json()['id']}")).json()["status"]
            for a in answers]
    assert done == ["completed"] * burst, done
    print(f"burst of {burst} background creates: all queued in {created * 1000:.0f} ms, "
          f"all completed in {ended * 1000:.0f} ms ({burst / ended:.1f} responses/s)")


async def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    burst = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    with tempfile.TemporaryDirectory() as tmp:
        limits = Path(tmp) / "limits.yaml"
        limits.write_text("window_seconds: 60\ndefault: {requests: 1000000, tokens: 1000000000}\n")
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, data_dir=Path(tmp), api_keys=KEY,
                                      log_level="warning", rate_limits_file=limits))
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                        transport=transport, base_url="http://bench", timeout=120,
                        headers={"Authorization": f"Bearer {KEY}"}) as http:
                    await run(http, app.state.lukhas.background, runs, burst)
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
