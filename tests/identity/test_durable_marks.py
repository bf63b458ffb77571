"""Revocations and single uses are kept in PostgreSQL: a Redis restart (without
persistence) brings no revoked token back, and lets no single-use token through twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.migrate import migrate
from app.db.pool import Database, open_pool
from app.db.repositories import token_marks as repo
from app.identity.marks import TokenMarks
from app.kv.memory import MemoryStore
from app.matriz.tick import PeriodicJob
from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.redis_server import OwnRedis


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    redis.kill()


@pytest.fixture
async def db(fresh_db_url: str) -> AsyncIterator[Database]:
    await migrate(fresh_db_url)
    database = await open_pool(fresh_db_url, min_size=1, max_size=8)
    yield database
    await database.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def mint(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    resp = await client.post("/v1/identity/tokens",
                             json={"realm": "R", "zone": "Z", "tier": "T2", **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def code(client: httpx.AsyncClient, token: str) -> str | None:
    resp = await client.get("/v1/identity/me", headers=bearer(token))
    return None if resp.status_code == 200 else str(resp.json()["error"]["code"])


async def test_a_redis_restart_revives_no_revoked_token_and_no_used_one(
        fresh_db_url: str, tmp_path: Path, own_redis: OwnRedis) -> None:
    await migrate(fresh_db_url)
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           redis_url=own_redis.url) as client:
        revoked = [await mint(client) for _ in range(5)]
        kept = await mint(client)
        for issued in revoked:
            assert await code(client, issued["token"]) is None  # cached as "not revoked"
            resp = await client.post("/v1/identity/revoke", json={"token": issued["token"]})
            assert resp.status_code == 200, resp.text
        assert await code(client, revoked[0]["token"]) == "token_revoked"
        once = await mint(client, once=True)
        assert await code(client, once["token"]) is None

        own_redis.restart()  # everything Redis held is gone

        for issued in revoked:
            assert await code(client, issued["token"]) == "token_revoked"
        assert await code(client, once["token"]) == "token_replayed"
        assert await code(client, kept["token"]) is None, "nothing else is refused"


async def test_a_redis_restart_between_two_uses_of_a_fresh_single_use_token(
        fresh_db_url: str, tmp_path: Path, own_redis: OwnRedis) -> None:
    await migrate(fresh_db_url)
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           redis_url=own_redis.url) as client:
        once = await mint(client, once=True)
        own_redis.restart()
        assert await code(client, once["token"]) is None
        own_redis.restart()
        assert await code(client, once["token"]) == "token_replayed"


async def test_single_use_is_decided_by_the_database_across_workers(db: Database) -> None:
    # Workers with caches of their own (the worst case: nothing shared but the database).
    workers = [TokenMarks(MemoryStore(), db) for _ in range(8)]
    until = time.time() + 60
    results = await asyncio.gather(*(w.use("a" * 32, until) for w in workers for _ in range(4)))
    assert results.count(True) == 1


async def test_a_revocation_overrides_a_cached_not_revoked_at_once(db: Database) -> None:
    shared = MemoryStore()  # one cache, two workers
    checker, revoker = TokenMarks(shared, db), TokenMarks(shared, db)
    assert not await checker.revoked("b" * 32, 60)
    await revoker.revoke("b" * 32, time.time() + 60)
    assert await checker.revoked("b" * 32, 60)
    # A worker with a cache of its own that missed it still asks the database on a miss.
    assert await TokenMarks(MemoryStore(), db).revoked("b" * 32, 60)


async def test_a_later_revocation_never_shortens_an_earlier_one(db: Database) -> None:
    marks = TokenMarks(MemoryStore(), db)
    long_until = time.time() + 3600
    await marks.revoke("c" * 32, long_until)
    await marks.revoke("c" * 32, time.time() + 5)
    async with db.acquire() as conn:
        until = await repo.revoked_until(conn, "c" * 32)
    assert until is not None and until.timestamp() == pytest.approx(long_until, abs=1)


async def test_expired_marks_are_swept_and_live_ones_kept(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with db.acquire() as conn:
        await repo.revoke(conn, "d" * 32, past)
        assert await repo.claim_use(conn, "e" * 32, past)
        await repo.revoke(conn, "f" * 32, past + timedelta(hours=1))
        assert await repo.revoked_until(conn, "d" * 32) is None, "an ended mark does not count"
    assert await TokenMarks(MemoryStore(), db).sweep() == 2
    async with db.acquire() as conn:
        left = await conn.fetch("SELECT kind, jti FROM token_marks")
    assert [(r["kind"], r["jti"]) for r in left] == [("revoked", "f" * 32)]


async def test_revocation_by_jti_lasts_as_long_as_the_longest_token(
        pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           lid_max_ttl_seconds=7200) as client:
        issued = await mint(client, ttl_seconds=7000)
        soon = int(time.time()) + 2
        resp = await client.post("/v1/identity/revoke",
                                 json={"jti": issued["jti"], "expires_at": soon})
        assert resp.status_code == 200, resp.text
        assert resp.json()["until"] >= int(time.time()) + 7200 - 5, \
            "a caller's expires_at never shortens the mark below the longest lifetime"
        longer = int(time.time()) + 10_000
        resp = await client.post("/v1/identity/revoke",
                                 json={"jti": issued["jti"], "expires_at": longer})
        assert resp.json()["until"] == longer, "it may lengthen it"
        by_token = await mint(client, ttl_seconds=600)
        resp = await client.post("/v1/identity/revoke",
                                 json={"token": by_token["token"], "expires_at": soon})
        assert resp.json()["until"] == by_token["expires_at"], "the token's own expiry holds"
        async with client.app.state.lukhas.pool.acquire() as conn:  # type: ignore[attr-defined]
            until = await repo.revoked_until(conn, issued["jti"])
        assert until is not None and until.timestamp() >= longer
        assert await code(client, issued["token"]) == "token_revoked"


async def test_the_tick_sweeps_expired_marks_periodically(db: Database) -> None:
    async with db.acquire() as conn:
        await repo.revoke(conn, "9" * 32, datetime.now(UTC) - timedelta(seconds=1))
    job = PeriodicJob("token marks sweep", TokenMarks(MemoryStore(), db).sweep, every=2)
    job([])
    await asyncio.sleep(0.05)
    assert job.done == 0, "only every second tick"
    job([])
    for _ in range(200):
        if job.done:
            break
        await asyncio.sleep(0.01)
    assert job.done == 1
