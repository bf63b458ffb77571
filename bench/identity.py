"""Identity and rate-limit costs, with a real Redis (`LUKHAS_BENCH_REDIS_URL`, default
127.0.0.1:6379 database 14, which the bench empties).

Prints:
- ΛiD token validation, p50/p99 µs, with the in-process store and with Redis (a revocation
  check per token; a single-use claim for `once` tokens);
- per-request latency of `GET /v1/models` through the whole app, with identity (a ΛiD token)
  and rate limiting on Redis, against the same endpoint with both steps taken out, in one run;
- the limiter's Redis round trips per request (from Redis's own command statistics);
- Argon2id verification time, p50/p99 ms, at the default parameters (settings), for a right
  password, a wrong one and the dummy hash that unknown usernames are checked against;
- throughput of `POST /v1/identity/authenticate` through the whole app (accounts in the
  embedded PostgreSQL, the failure throttle in Redis), with the throttle on and off, for a
  mix of right passwords, wrong ones and unknown usernames, and latency by kind.

Usage: python bench/identity.py [REQUESTS] [LOGINS] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
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
from app.identity.passwords import PasswordParams, Passwords
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.memory import MemoryStore
from app.kv.redis_store import RedisStore
from app.main import create_app
from app.settings import Settings

REDIS = os.environ.get("LUKHAS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
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


async def password_costs(settings: Settings, n: int) -> None:
    params = PasswordParams(settings.password_time_cost, settings.password_memory_kib,
                            settings.password_parallelism)
    passwords = Passwords(params)
    stored = await passwords.hash("correct horse battery staple")
    cases = (("right password", lambda: passwords.verify(stored, "correct horse battery staple")),
             ("wrong password", lambda: passwords.verify(stored, "not the password at all")),
             ("dummy (unknown user)", lambda: passwords.verify_dummy("not the password at all")))
    print(f"Argon2id t={params.time_cost} m={params.memory_kib} KiB p={params.parallelism}:")
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(n):  # the cases interleaved, so load on the machine hits all alike
        for name, run in cases:
            t0 = time.perf_counter()
            await run()
            times[name].append((time.perf_counter() - t0) * 1e3)
    for name, values in times.items():
        print(f"  verify, {name:21} p50 {pct(values, .5):6.1f} ms  p99 {pct(values, .99):6.1f} ms")


async def login_throughput(url: str, tmp: Path, throttle: bool, n: int, concurrency: int,
                           *, attack: bool = False) -> None:
    """Logins through the whole app. The ordinary mix: 70% right passwords, 20% wrong ones,
    10% unknown usernames, over 40 accounts. The attack mix: half the requests guess
    passwords for 5 usernames (unknown ones, which no lockout protects)."""
    settings = Settings(database_url=url, api_keys=KEY, data_dir=tmp, redis_url=REDIS,
                        lid_keys=LID_KEYS, log_level="warning", auth_throttle=throttle,
                        # One client address sends everything here: only usernames throttle.
                        auth_throttle_address_failures=10**9,
                        rate_limits_file=unlimited(tmp))
    app = create_app(settings)
    rng = random.Random(7)  # the same mix of requests in every run
    async with app.router.lifespan_context(app):
        names = []
        for i in range(40):
            name = f"bench-{i}-{secrets.token_hex(6)}"
            body = f'{{"username": "{name}", "password": "correct horse battery"}}'.encode()
            status, _ = await call(app, "POST", "/v1/identity/accounts", body)
            assert status == 200, status
            names.append(name)
        plan = []
        targets = [f"target-{i}-{secrets.token_hex(4)}" for i in range(5)]
        for _ in range(n):
            r = rng.random()
            if attack:
                kind = "right" if r < 0.5 else "guess"
                name = rng.choice(names) if kind == "right" else rng.choice(targets)
            else:
                kind = "right" if r < 0.7 else ("wrong" if r < 0.9 else "unknown")
                name = (rng.choice(names) if kind != "unknown"
                        else f"ghost-{rng.randrange(10**9)}")
            password = "correct horse battery" if kind == "right" else "wrong horse battery"
            plan.append((kind, f'{{"username": "{name}", "password": "{password}"}}'.encode()))
        latencies: dict[str, list[float]] = {"right": [], "wrong": [], "unknown": [],
                                             "guess": []}
        statuses: dict[int, int] = {}
        queue = list(reversed(plan))

        async def worker() -> None:
            while queue:
                kind, body = queue.pop()
                t0 = time.perf_counter()
                status, _ = await call(app, "POST", "/v1/identity/authenticate", body)
                latencies[kind].append((time.perf_counter() - t0) * 1e3)
                statuses[status] = statuses.get(status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    label = ("attack mix" if attack else "usual mix ") + (", throttle on " if throttle
                                                           else ", throttle off")
    print(f"authenticate, {label}: {n / elapsed:6.1f} logins/s ({n} in "
          f"{elapsed:.1f} s, {concurrency} concurrent); statuses {dict(sorted(statuses.items()))}")
    for kind, times in latencies.items():
        if not times:
            continue
        print(f"  {kind:8} p50 {pct(times, .5):6.1f} ms  p99 {pct(times, .99):6.1f} ms")


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    logins = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    redis = aioredis.from_url(REDIS)
    await redis.flushdb()
    await password_costs(Settings(_env_file=None), 40)  # type: ignore[call-arg]
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
            for attack in (False, True):
                for throttle in (False, True, False, True):  # interleaved: drift hits both
                    await login_throughput(url, Path(tmp), throttle, logins, concurrency,
                                           attack=attack)
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
