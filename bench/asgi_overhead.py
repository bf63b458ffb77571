"""CPU cost per request inside the app (no network, no client), by route.

Drives the ASGI app directly with the lifespan running, on the embedded PostgreSQL, and
prints µs/request for each case beside a bare FastAPI endpoint returning a body of the same
size, so ratios within one run say where the time goes.

Usage: python bench/asgi_overhead.py [REQUESTS] [--cpu]

`--cpu` times with this process's CPU clock instead of the wall clock: on a shared machine,
what other processes take of the cores then does not count.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.db.embedded import EmbeddedPostgres
from app.main import create_app
from app.settings import Settings
from bench.timing import http_scope

KEY = "lk-bench-0123456789abcdef"
CLOCK = time.process_time if "--cpu" in sys.argv else time.perf_counter
KEY_WRITER = "lk-bench-writer-0123456789"  # the caller whose turns are stored and remembered


async def call(app: Any, method: str, path: str, body: bytes,
               token: str = KEY) -> tuple[int, bytes]:
    """One request through the ASGI app; returns status and body."""
    scope = http_scope(method, path, body, token)
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(app: Any, path: str, payload: dict[str, Any], n: int,
                  token: str = KEY) -> float:
    """µs per request over `n` requests."""
    body = orjson.dumps(payload)
    status, out = await call(app, "POST", path, body, token)
    assert status == 200, out
    started = CLOCK()
    for _ in range(n):
        await call(app, "POST", path, body, token)
    return (CLOCK() - started) / n * 1e6


Case = tuple[Any, str, dict[str, Any], str]  # app, path, body, caller's key


async def interleaved(cases: dict[str, Case], n: int, rounds: int = 7) -> dict[str, float]:
    """The median over `rounds` of each case's cost, the cases taking turns within a round,
    so a noisy neighbour slows them all alike."""
    costs: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (app, path, payload, token) in cases.items():
            costs[name].append(await measure(app, path, payload, n // rounds, token))
    return {name: statistics.median(values) for name, values in costs.items()}


def unlimited(directory: Path) -> Path:
    """A rate-limit file that never refuses: the limiter still runs, as in production."""
    path = directory / "limits.yaml"
    path.write_text("window_seconds: 60\ndefault: {requests: 1000000000, tokens: 10000000000}\n")
    return path


def minimal_app(size: int) -> FastAPI:
    app = FastAPI()
    blob = b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'

    @app.post("/v1/responses")
    async def minimal(request: Request) -> Response:
        await request.body()
        return Response(blob, media_type="application/json")

    return app


class _Body(BaseModel):
    model: str
    input: str | list[dict[str, Any]]
    store: bool = True


async def _first(request: Request) -> int:
    return 1


async def _second(request: Request) -> int:
    return 2


def framework_app(size: int) -> FastAPI:
    """What FastAPI alone costs a route like ours: an included router with the `/v1` prefix,
    a pydantic body and two async dependencies on the request; no middleware, no work."""
    app = FastAPI()
    router = APIRouter()
    blob = b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'

    @router.post("/responses")
    async def route(body: _Body, a: Annotated[int, Depends(_first)],
                    b: Annotated[int, Depends(_second)]) -> Response:
        return Response(blob, media_type="application/json")

    app.include_router(router, prefix="/v1")
    return app


async def main() -> None:
    counts = [arg for arg in sys.argv[1:] if arg != "--cpu"]
    n = int(counts[0]) if counts else 2000
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, api_keys=f"{KEY},{KEY_WRITER}",
                                      data_dir=Path(tmp),
                                      rate_limits_file=unlimited(Path(tmp)),
                                      log_level="warning"))
            async with app.router.lifespan_context(app):
                q = {"model": "lukhas-matriz", "input": "What is 2+2?"}
                _, sample = await call(app, "POST", "/v1/responses",
                                       orjson.dumps({**q, "store": False}))
                chat = {"model": "lukhas-matriz",
                        "messages": [{"role": "user", "content": "What is 2+2?"}]}
                # The first three callers have no long-term memory; the writer's turns are
                # stored, so its later requests also search what it said before.
                cases: dict[str, Case] = {
                    "minimal FastAPI": (minimal_app(len(sample)), "/v1/responses", q, KEY),
                    "FastAPI body + 2 deps": (framework_app(len(sample)), "/v1/responses", q,
                                              KEY),
                    "responses store=false": (app, "/v1/responses", {**q, "store": False}, KEY),
                    "chat.completions": (app, "/v1/chat/completions", chat, KEY),
                    "responses store=true": (app, "/v1/responses", {**q, "store": True},
                                             KEY_WRITER),
                }
                costs = await interleaved(cases, n)
                base = costs["minimal FastAPI"]
                print(f"body {len(sample)} B; median of 7 interleaved rounds, {n} requests each")
                for name, cost in costs.items():
                    print(f"{name:<24} {cost:8.1f} µs/request  {base / cost:6.1%} of minimal")
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
