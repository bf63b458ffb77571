"""GCRA limits: one contract, the in-process limiter and the Redis one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.reliability.durations import go_duration
from app.reliability.ratelimit import Limit, Limiter, MemoryLimiter
from app.reliability.redis_limiter import RedisLimiter


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Limiter]:
    lim: Limiter = MemoryLimiter() if request.param == "memory" else RedisLimiter(redis_url)
    yield lim
    await lim.close()


async def test_a_burst_of_the_limit_then_refusal(limiter: Limiter) -> None:
    limit = Limit(requests=5, tokens=None)
    decisions = [await limiter.acquire("k", limit, 60, 0) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.requests_remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    refused = decisions[-1]
    assert 11 <= refused.retry_after_s <= 12.1, "one request refills every 60/5 = 12 s"
    assert 59 <= decisions[4].requests_reset_s <= 60.1
    other = await limiter.acquire("other", limit, 60, 0)
    assert other.allowed, "keys are independent"


async def test_concurrent_acquires_admit_exactly_the_limit(limiter: Limiter) -> None:
    limit = Limit(requests=50, tokens=None)
    results = await asyncio.gather(*(limiter.acquire("burst", limit, 3600, 0)
                                     for _ in range(200)))
    assert sum(d.allowed for d in results) == 50


async def test_tokens_limit_and_settle(limiter: Limiter) -> None:
    limit = Limit(requests=100, tokens=1000)
    first = await limiter.acquire("t", limit, 60, 800)
    assert first.allowed and first.tokens_remaining == 200
    assert not (await limiter.acquire("t", limit, 60, 300)).allowed, "800 + 300 > 1000"
    await limiter.settle("t", limit, 60, -700)  # it really used 100
    again = await limiter.acquire("t", limit, 60, 300)
    assert again.allowed and again.tokens_remaining is not None
    assert 599 <= again.tokens_remaining <= 600


async def test_capacity_refills_over_the_window(limiter: Limiter) -> None:
    limit = Limit(requests=2, tokens=None)
    assert (await limiter.acquire("r", limit, 0.2, 0)).allowed
    assert (await limiter.acquire("r", limit, 0.2, 0)).allowed
    assert not (await limiter.acquire("r", limit, 0.2, 0)).allowed
    await asyncio.sleep(0.12)  # one request refills every 0.1 s
    assert (await limiter.acquire("r", limit, 0.2, 0)).allowed


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.012, "12ms"), (0.0001, "1ms"), (1, "1s"), (1.5, "1.5s"), (59.9994, "1m0s"),
    (360, "6m0s"), (61.25, "1m1.25s"), (3723.5, "1h2m3.5s"),
])
def test_openai_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
