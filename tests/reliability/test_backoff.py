"""The backoff helper: bounds, spread, and `retry-after`."""

from __future__ import annotations

import random
import statistics

import pytest

from app.reliability.backoff import RetryableError, backoff_delay, retry


def test_bounds_follow_the_sdk_policy() -> None:
    for attempt in range(8):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert backoff_delay(attempt, rand=lambda: 0.0) == ceiling
        assert backoff_delay(attempt, rand=lambda: 1.0) == pytest.approx(ceiling * 0.75)


def test_jitter_spreads_delays() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(3, rand=rng.random) for _ in range(2000)]
    assert min(delays) >= 3.0 and max(delays) <= 4.0
    assert statistics.pstdev(delays) > 0.2, "clients that failed together retry apart"
    assert 3.4 < statistics.fmean(delays) < 3.6


def test_retry_after_wins_when_sane() -> None:
    assert backoff_delay(0, retry_after=2.5) == 2.5
    assert backoff_delay(0, retry_after=120, rand=lambda: 0.0) == 0.5, "over 60 s: ignored"
    assert backoff_delay(0, retry_after=0, rand=lambda: 0.0) == 0.5


async def test_retry_sleeps_then_succeeds_or_gives_up() -> None:
    slept: list[float] = []
    calls = 0

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RetryableError("busy", retry_after=1.25 if calls == 1 else None)
        return "ok"

    assert await retry(flaky, attempts=3, sleep=sleep, rand=lambda: 0.0) == "ok"
    assert slept == [1.25, 1.0]

    async def always() -> str:
        raise RetryableError("down")

    with pytest.raises(RetryableError):
        await retry(always, attempts=2, sleep=sleep)
