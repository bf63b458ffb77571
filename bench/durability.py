"""What survives a restart, against real `lukhas serve` processes on their embedded defaults.

Prints:
- revocations (and single uses) held after a Redis restart without persistence (target: all);
- acknowledged responses found after `kill -9` of the service, and after `kill -9` of the
  embedded postmaster (target: all). Acknowledged: a 200 with a response id received before
  the kill (for the postmaster, any time: the service keeps running);
- time to ready again after a postmaster kill: from the kill to the first 200 of `/readyz`;
- the cost of a ΛiD validation with the marks in PostgreSQL behind Redis: a token whose
  revocation state is cached (the hot path: one Redis GET) and one seen for the first time
  (a GET, a database read, a SET NX).

Usage: python bench/durability.py [TOKENS] [POSTMASTER_KILLS]
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from app.db.pool import open_pool
from app.identity.alias import new_alias
from app.identity.keyring import KeyRing
from app.identity.tiers import load_tiers
from app.identity.tokens import LidTokens
from app.kv.redis_store import RedisStore
from tests.utils.redis_server import OwnRedis
from tests.utils.server import ServerProcess, generous_limits, start_lukhas_serve

CLIENTS = 16


def serve(data_dir: Path, tmp: Path, log: str, **env: str) -> tuple[ServerProcess, dict[str, str]]:
    server = start_lukhas_serve({"LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
                                 "LUKHAS_RATE_LIMITS_FILE": str(generous_limits(tmp)), **env},
                                tmp / log)
    key = (data_dir / "api_key").read_text().strip()
    return server, {"Authorization": f"Bearer {key}"}


async def revocations(tmp: Path, n: int) -> None:
    redis = OwnRedis(tmp)
    redis.start()
    server, auth = serve(tmp / "data-revoke", tmp, "revoke.log", LUKHAS_REDIS_URL=redis.url)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30) as http:
            async def mint(once: bool) -> str:
                resp = await http.post("/v1/identity/tokens", json={
                    "realm": "BENCH", "zone": "eu", "tier": "T2", "once": once})
                return str(resp.json()["token"])

            revoked = [await mint(False) for _ in range(n)]
            once = [await mint(True) for _ in range(n)]
            for token in revoked:
                assert (await http.post("/v1/identity/revoke",
                                        json={"token": token})).status_code == 200
            for token in once:
                assert (await http.get("/v1/identity/me", headers=bearer(token))).status_code \
                    == 200
            redis.restart()

            async def code(token: str) -> str | None:
                resp = await http.get("/v1/identity/me", headers=bearer(token))
                return None if resp.status_code == 200 else str(resp.json()["error"]["code"])

            held = sum([await code(t) == "token_revoked" for t in revoked])
            replays = sum([await code(t) == "token_replayed" for t in once])
    finally:
        server.stop()
        redis.kill()
    print(f"revocations held after a Redis restart: {held}/{n}")
    print(f"single-use tokens refused again after a Redis restart: {replays}/{n}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def load(http: httpx.AsyncClient, acked: list[str], stop: asyncio.Event) -> None:
    """Create responses until `stop`; note every id acknowledged with a 200."""
    while not stop.is_set():
        try:
            resp = await http.post("/v1/responses", json={
                "model": "lukhas-matriz", "input": f"What is {len(acked)} + 1?"})
        except httpx.HTTPError:
            await asyncio.sleep(0.01)
            continue
        if resp.status_code == 200:
            acked.append(resp.json()["id"])
        else:
            await asyncio.sleep(0.01)


async def found(base_url: str, auth: dict[str, str], ids: list[str]) -> int:
    async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as http:
        hits = 0
        for start in range(0, len(ids), 64):
            got = await asyncio.gather(*(http.get(f"/v1/responses/{rid}")
                                         for rid in ids[start:start + 64]))
            hits += sum(r.status_code == 200 for r in got)
        return hits


async def service_kill(tmp: Path) -> None:
    data_dir = tmp / "data-service"
    server, auth = serve(data_dir, tmp, "service-1.log")
    acked: list[str] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth, timeout=30) as http:
        tasks = [asyncio.create_task(load(http, acked, stop)) for _ in range(CLIENTS)]
        await asyncio.sleep(3)
        server.proc.kill()  # kill -9, requests in flight
        before_kill = list(acked)
        stop.set()
        await asyncio.gather(*tasks)
    server.stop()
    again, _ = serve(data_dir, tmp, "service-2.log")
    try:
        hits = await found(again.base_url, auth, before_kill)
    finally:
        again.stop(signal.SIGTERM)
    print(f"acknowledged responses found after kill -9 of the service: "
          f"{hits}/{len(before_kill)}")


async def postmaster_kills(tmp: Path, rounds: int) -> None:
    data_dir = tmp / "data-postmaster"
    server, auth = serve(data_dir, tmp, "postmaster.log")
    acked: list[str] = []
    ready_after: list[float] = []
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth,
                                     timeout=30) as http:
            tasks = [asyncio.create_task(load(http, acked, stop)) for _ in range(CLIENTS)]
            for _ in range(rounds):
                await asyncio.sleep(2)
                pid = int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
                killed_at = time.monotonic()
                psutil.Process(pid).kill()
                ready_after.append(await ready_again(http, killed_at))
            await asyncio.sleep(1)
            stop.set()
            await asyncio.gather(*tasks)
        hits = await found(server.base_url, auth, acked)
    finally:
        server.stop(signal.SIGTERM)
    print(f"acknowledged responses found after {rounds} kill -9 of the postmaster: "
          f"{hits}/{len(acked)}")
    print("time to ready again after a postmaster kill: "
          + ", ".join(f"{s:.2f}" for s in ready_after)
          + f" s (median {statistics.median(ready_after):.2f} s)")


async def ready_again(http: httpx.AsyncClient, since: float) -> float:
    """Seconds from `since` to the first 200 of /readyz after a failing one."""
    failed = False
    while True:
        try:
            status = (await http.get("/readyz", timeout=2)).status_code
        except httpx.HTTPError:
            status = 0
        failed = failed or status != 200
        if failed and status == 200:
            return time.monotonic() - since
        if not failed and time.monotonic() - since > 10:
            raise RuntimeError("the postmaster kill was never noticed")
        await asyncio.sleep(0.01)


async def validation_cost(tmp: Path, n: int) -> None:
    redis = OwnRedis(tmp)
    redis.start()
    pg = EmbeddedPostgres(tmp / "data-validate")
    url = pg.start(keep_alive=False)
    store = RedisStore(redis.url)
    try:
        await migrate(url)
        database = await open_pool(url, min_size=1, max_size=2)
        tokens = LidTokens(KeyRing({"k1": b"k1-bench-secret-0123456789abcdef0123456789"}, "k1"),
                           load_tiers(), store, database=database)
        fresh = [tokens.issue(new_alias("BENCH", "eu"), "T2").token for _ in range(n)]
        cached = fresh[0]
        await tokens.validate(cached)

        async def timed(token: str) -> float:
            t0 = time.perf_counter()
            await tokens.validate(token)
            return (time.perf_counter() - t0) * 1e6

        hits = [await timed(cached) for _ in range(n)]
        misses = [await timed(t) for t in fresh[1:]]
        await database.close()
    finally:
        await store.close()
        pg.stop()
        redis.kill()
    for name, times in (("revocation state cached", hits), ("first sight", misses)):
        times.sort()
        print(f"ΛiD validation, {name}: p50 {times[len(times) // 2]:.0f} µs, "
              f"p99 {times[int(len(times) * 0.99)]:.0f} µs")


async def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 200
    rounds = int(argv[2]) if len(argv) > 2 else 3
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        await validation_cost(tmp, 2000)
        await revocations(tmp, n)
        await service_kill(tmp)
        await postmaster_kills(tmp, rounds)


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
