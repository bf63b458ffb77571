"""Time to the first SSE text delta of `/v1/responses`, under concurrent streaming load.

Usage: python load/ttfd.py BASE_URL KEY [CONCURRENCY] [SECONDS]
Prints p50/p99 (ms) of: time to first byte, and time to the first `response.output_text.delta`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import httpx

BODY = {"model": "lukhas-matriz", "input": "What is 12*12?", "stream": True, "store": False}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def worker(client: httpx.AsyncClient, url: str, until: float,
                 first_byte: list[float], first_delta: list[float]) -> None:
    while time.perf_counter() < until:
        started = time.perf_counter()
        async with client.stream("POST", url, json=BODY) as resp:
            resp.raise_for_status()
            got_byte = got_delta = False
            async for line in resp.aiter_lines():  # read to the end: the stream completes
                if not got_byte:
                    first_byte.append(time.perf_counter() - started)
                    got_byte = True
                if not got_delta and line == "event: response.output_text.delta":
                    first_delta.append(time.perf_counter() - started)
                    got_delta = True


async def main() -> None:
    base, key = sys.argv[1], sys.argv[2]
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 15
    first_byte: list[float] = []
    first_delta: list[float] = []
    limits = httpx.Limits(max_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(worker(client, f"{base}/v1/responses", until, first_byte,
                                      first_delta) for _ in range(concurrency)))
    ms = [v * 1000 for v in first_delta]
    fb = [v * 1000 for v in first_byte]
    print(f"streams={len(ms)} concurrency={concurrency} seconds={seconds}")
    print(f"first byte   p50={pct(fb, 0.5):.1f}ms p99={pct(fb, 0.99):.1f}ms")
    print(f"first delta  p50={pct(ms, 0.5):.1f}ms p99={pct(ms, 0.99):.1f}ms "
          f"mean={statistics.fmean(ms):.1f}ms")


if __name__ == "__main__":
    asyncio.run(main())
