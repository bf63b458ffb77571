"""Identity and rate-limit costs, with a real Redis (127.0.0.1:6379, database 14).

Prints:
- ΛiD token validation, p50/p99 µs, with the in-process store and with Redis (a revocation
  check per token; a single-use claim for `once` tokens);
- per-request latency of `GET /v1/models` through the whole app, with identity (a ΛiD token)
  and rate limiting on Redis, against the same endpoint with both steps taken out, in one run;
- the limiter's Redis round trips per request (from Redis's own command statistics).

Usage: python bench/identity.py [REQUESTS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from asgi_overhead import call, unlimited
from redis import asyncio as aioredis
from starlette.types import ASGIApp, Receive, Scope, Send

from app.db.embedded import EmbeddedPostgres
from app.identity.alias import new_alias
from app.identity.base import Identity
from app.identity.keyring import KeyRing
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.memory import MemoryStore
from app.kv.redis_store import RedisStore
from app.main import create_app
from app.settings import Settings

REDIS = "redis://127.0.0.1:6379/14"
KEY = "lk-bench-0123456789abcdef"
LID_KEYS = '{"k1": "k1-bench-secret-0123456789abcdef0123456789"}'


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def validation_costs(n: int) -> None:
    tiers = load_tiers()
    ring = KeyRing({"k1": b"k1-bench-secret-0123456789abcdef0123456789"}, "k1")
    for name, store in (("in-process", MemoryStore()), ("redis", RedisStore(REDIS))):
        tokens = LidTokens(ring, tiers, store)
        token = tokens.issue(new_alias("BENCH", "eu"), "T2").token
        for _ in range(100):
            await tokens.validate(token)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await tokens.validate(token)
            times.append((time.perf_counter() - t0) * 1e6)
        print(f"token validation ({name:10}) p50 {pct(times, .5):7.1f} µs  "
              f"p99 {pct(times, .99):7.1f} µs")
        await store.close()


class FixedIdentity:
    """Stands in for identity and rate limiting: the caller, with no check at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.identity = Identity("bench", frozenset(load_tiers().scopes("T2")), "T2", "api_key")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["identity"] = self.identity
        await self.app(scope, receive, send)


async def per_request(app: Any, token: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        status, _ = await call(app, "GET", "/v1/models", b"", token=token)
        times.append((time.perf_counter() - t0) * 1e6)
        assert status == 200, status
    return times


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    redis = aioredis.from_url(REDIS)
    await redis.flushdb()
    await validation_costs(n)
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            settings = Settings(database_url=url, api_keys=KEY, data_dir=Path(tmp),
                                redis_url=REDIS, lid_keys=LID_KEYS, log_level="warning",
                                rate_limits_file=unlimited(Path(tmp)))
            full = create_app(settings)
            bare = create_app(settings)
            bare.user_middleware = [m for m in bare.user_middleware
                                    if m.cls.__name__ not in ("IdentityMiddleware",
                                                              "RateLimitMiddleware")]
            bare.add_middleware(FixedIdentity)
            async with full.router.lifespan_context(full), bare.router.lifespan_context(bare):
                token = full.state.lukhas.identity._tokens.issue(
                    new_alias("BENCH", "eu"), "T2", ttl_seconds=3600).token
                before = await redis.info("commandstats")
                with_checks, without = [], []
                for _ in range(5):  # interleaved rounds: noise hits both alike
                    with_checks += await per_request(full, token, n // 5)
                    without += await per_request(bare, token, n // 5)
                after = await redis.info("commandstats")
        finally:
            pg.stop()
    def calls(name: str) -> int:
        key = f"cmdstat_{name}"
        return int(after.get(key, {}).get("calls", 0) - before.get(key, {}).get("calls", 0))

    # Commands a script runs (TIME, GET, SET) are counted too; a round trip is one
    # GET (the cached revocation state) or one EVALSHA (the whole rate-limit step).
    for name, times in (("with identity + rate limit", with_checks), ("without", without)):
        print(f"GET /v1/models {name:27} p50 {pct(times, .5):7.1f} µs  "
              f"p99 {pct(times, .99):7.1f} µs  mean {statistics.fmean(times):7.1f} µs")
    print(f"added by identity + rate limit: p50 {pct(with_checks, .5) - pct(without, .5):.1f} µs")
    print(f"Redis calls per request: GET (revocation state, with the limiter script's own) "
          f"{calls('get') / n:.2f}, rate limit EVALSHA {calls('evalsha') / n:.2f}")
    await redis.flushdb()
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
