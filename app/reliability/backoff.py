"""Jittered exponential backoff that honours `retry-after`, for calls to upstream providers.

The delays follow the OpenAI SDKs' policy: 0.5 s × 2^attempt, capped at 8 s, minus up to 25%
jitter; a server's `retry-after` (seconds) wins when it is positive and at most 60 s.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
MAX_RETRY_AFTER_S = 60.0  # the longest `retry-after` the OpenAI SDKs honour; we send no more


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 8.0, jitter: float = 0.25,
                  retry_after: float | None = None,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based)."""
    if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER_S:
        return retry_after
    delay: float = min(cap, base * 2.0**attempt)
    return delay * (1 - jitter * rand())


class RetryableError(Exception):
    """An error worth retrying, with the server's `retry-after` if it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def retry(call: Callable[[], Awaitable[T]], *, attempts: int = 3,
                sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                rand: Callable[[], float] = random.random) -> T:
    """Run `call`, retrying a RetryableError up to `attempts - 1` times with backoff."""
    for attempt in range(attempts):
        try:
            return await call()
        except RetryableError as exc:
            if attempt == attempts - 1:
                raise
            await sleep(backoff_delay(attempt, retry_after=exc.retry_after, rand=rand))
    raise AssertionError("unreachable")  # pragma: no cover
