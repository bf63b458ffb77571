"""Timing helpers shared by the bench scripts (run from the repository root), and the ASGI
scope they drive the app with."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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
