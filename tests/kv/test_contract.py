"""One contract, both backends: the in-process store and real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.kv.base import KeyValueStore, StoreUnavailable
from app.kv.memory import MemoryStore
from app.kv.redis_store import RedisStore


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[KeyValueStore]:
    kv: KeyValueStore = MemoryStore() if request.param == "memory" else RedisStore(redis_url)
    yield kv
    await kv.close()


async def test_claim_is_once(store: KeyValueStore) -> None:
    assert await store.claim("a", 10)
    assert not await store.claim("a", 10)
    assert await store.exists("a")
    assert not await store.exists("b")


async def test_concurrent_claims_admit_exactly_one(store: KeyValueStore) -> None:
    results = await asyncio.gather(*(store.claim("race", 10) for _ in range(50)))
    assert results.count(True) == 1


async def test_keys_expire(store: KeyValueStore) -> None:
    await store.put("short", 0.05)
    assert await store.exists("short")
    await asyncio.sleep(0.12)
    assert not await store.exists("short")
    assert await store.claim("short", 10), "an expired key can be claimed again"


async def test_unreachable_redis_raises_store_unavailable() -> None:
    kv = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        await kv.claim("x", 1)
    with pytest.raises(StoreUnavailable):
        await kv.ping()
    await kv.close()


def test_memory_sweep_drops_expired_keys() -> None:
    now = [100.0]
    kv = MemoryStore(clock=lambda: now[0])
    asyncio.run(kv.put("a", 1))
    asyncio.run(kv.put("b", 10))
    now[0] += 5
    assert kv.sweep_expired() == 1


async def test_values_are_kept_and_claim_never_overwrites(store: KeyValueStore) -> None:
    assert await store.get("v") is None
    assert await store.claim("v", 10, "0")
    assert not await store.claim("v", 10, "1"), "claim leaves a set key alone"
    assert await store.get("v") == "0"
    await store.put("v", 10, "1")
    assert await store.get("v") == "1", "put overwrites"
