"""Timing helpers shared by the bench scripts (run from the repository root), and the ASGI
scope they drive the app with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls of `fn`, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def http_scope(method: str, path: str, body: bytes, token: str) -> dict[str, Any]:
    """An HTTP request's ASGI scope as uvicorn hands it over: JSON `body`, bearer `token`."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"content-length", str(len(body)).encode())],
    }


def pct(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, seconds: list[float], width: int = 44) -> str:
    """`label`, then the p50 and p95 of `seconds` in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return f"{label:<{width}} p50 {statistics.median(ms):7.2f} ms   p95 {pct(ms, 0.95):7.2f} ms"


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    """The wall time, in seconds, of each of `n` awaited calls of `call`."""
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out
