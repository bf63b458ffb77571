"""One contract for both session backends: in-process and real Redis."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.turns import Turn
from app.sessions.base import SessionLimits, SessionStore, encode
from app.sessions.memory import MemorySessions
from app.sessions.redis_sessions import RedisSessions
from tests.conftest import REDIS_TEST_URL

LIMITS = SessionLimits(max_turns=6, max_bytes=2048, ttl_seconds=60)


def turn(i: int, text: str = "") -> Turn:
    return Turn("user" if i % 2 == 0 else "assistant", text or f"turn {i}", f"s {i}")


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[SessionStore]:
    sessions: SessionStore = (MemorySessions(LIMITS) if request.param == "memory"
                              else RedisSessions(redis_url, LIMITS))
    yield sessions
    await sessions.close()


async def test_put_get_touch_delete(store: SessionStore) -> None:
    assert await store.get("alice", "s1") is None
    assert not await store.touch("alice", "s1")
    await store.put("alice", "s1", [turn(0), turn(1)])
    assert await store.get("alice", "s1") == [turn(0), turn(1)]
    assert await store.get("bob", "s1") is None, "sessions are keyed by subject"
    assert await store.touch("alice", "s1")
    assert await store.delete("alice", "s1")
    assert not await store.delete("alice", "s1")
    assert await store.get("alice", "s1") is None


async def test_a_turns_images_are_kept_with_it(store: SessionStore) -> None:
    parts = ({"type": "text", "text": "See?"},
             {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})
    seen = Turn("user", "See?", "s 0", parts)
    await store.put("alice", "m", [seen])
    await store.append("alice", "m", [turn(1), seen])
    assert await store.get("alice", "m") == [seen, turn(1), seen]


async def test_a_turn_keeps_when_it_was_said_and_its_file(store: SessionStore) -> None:
    said = [Turn("user", "The launch code is 1234.", "resp_1 launch.txt",
                        at=1767225600.25, file="launch.txt"),
            Turn("user", "Hi", "resp_1 input", at=1767225600.5),
            turn(2)]
    await store.put("alice", "s1", said[:2])
    await store.append("alice", "s1", said[2:])
    assert await store.get("alice", "s1") == said


# Turns as this version's predecessors wrote them to Redis: a text turn from before `at` and
# `file` were kept, and a turn with images, a time and a file.
_STORED = [b'{"role":"user","text":"Hi","source":"resp_1 input"}',
           b'{"role":"user","text":"See?","source":"resp_1 input 1","parts":[{"type":"text",'
           b'"text":"See?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}'
           b'],"at":1767225600.25,"file":"a.txt"}']


async def test_turns_stored_by_earlier_versions_still_load(redis_url: str) -> None:
    from redis import asyncio as aioredis

    client = aioredis.from_url(redis_url)
    owner = hashlib.sha256(b"alice").hexdigest()[:32]
    await client.rpush(f"lukhas:session:{owner}:old", *_STORED)
    await client.aclose()
    sessions = RedisSessions(redis_url, LIMITS)
    try:
        loaded = await sessions.get("alice", "old")
    finally:
        await sessions.close()
    parts = ({"type": "text", "text": "See?"},
             {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})
    assert loaded == [Turn("user", "Hi", "resp_1 input"),
                      Turn("user", "See?", "resp_1 input 1", parts, 1767225600.25, "a.txt")]
    assert [encode(t) for t in loaded] == _STORED, "turns are written as they were"


async def test_append_keeps_the_newest_within_both_bounds(store: SessionStore) -> None:
    for i in range(10):
        await store.append("alice", "s", [turn(i)])
    assert await store.get("alice", "s") == [turn(i) for i in range(4, 10)]
    big = "x" * 900
    await store.append("alice", "s", [turn(10, big), turn(11, big)])
    kept = await store.get("alice", "s")
    assert kept is not None and kept[-2:] == [turn(10, big), turn(11, big)]
    assert sum(len(t.text) + 50 for t in kept) <= LIMITS.max_bytes + 400
    assert len(kept) < 6, "the byte bound dropped old turns too"


async def test_ttl_slides_and_expires(redis_url: str) -> None:
    now = [0.0]
    short = SessionLimits(6, 2048, ttl_seconds=0.3)
    for sessions in (MemorySessions(short, clock=lambda: now[0]), RedisSessions(redis_url, short)):
        fake = isinstance(sessions, MemorySessions)

        async def wait(seconds: float, fake: bool = fake) -> None:
            if fake:
                now[0] += seconds
            else:
                await asyncio.sleep(seconds)

        await sessions.put("a", "s", [turn(0)])
        await wait(0.2)
        assert await sessions.touch("a", "s")
        await wait(0.2)
        assert await sessions.get("a", "s") is not None, "touch slid the expiry"
        await wait(0.35)
        assert await sessions.get("a", "s") is None
        await sessions.close()
    swept = MemorySessions(short, clock=lambda: now[0])
    await swept.put("a", "s", [turn(0)])
    now[0] += 1
    assert swept.sweep_expired() == 1


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(batches=st.lists(st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
                        min_size=2, max_size=12))
def test_concurrent_appends_lose_no_turn_in_redis(batches: list[list[int]]) -> None:
    limits = SessionLimits(max_turns=1000, max_bytes=1 << 20, ttl_seconds=60)

    async def scenario() -> None:
        sessions = RedisSessions(REDIS_TEST_URL, limits)
        try:
            await sessions.delete("p", "race")
            await asyncio.gather(*(
                sessions.append("p", "race", [Turn("user", f"{b}:{v}", "x") for v in batch])
                for b, batch in enumerate(batches)))
            got = await sessions.get("p", "race")
            assert got is not None
            texts = [t.text for t in got]
            assert sorted(texts) == sorted(f"{b}:{v}" for b, batch in enumerate(batches)
                                           for v in batch)
            for b, batch in enumerate(batches):  # each append's turns stay together, in order
                mine = [t for t in texts if t.startswith(f"{b}:")]
                assert mine == [f"{b}:{v}" for v in batch]
        finally:
            await sessions.delete("p", "race")
            await sessions.close()

    asyncio.run(scenario())
