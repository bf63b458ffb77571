"""The in-process key-value backend: a dict with expiry times (one process only)."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.expiry import drop_expired


class MemoryStore:
    """Keys with deadlines; expired keys are dropped when touched or swept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._deadlines: dict[str, float] = {}
        self._clock = clock

    def _live(self, key: str) -> bool:
        deadline = self._deadlines.get(key)
        if deadline is None:
            return False
        if deadline <= self._clock():
            del self._deadlines[key]
            return False
        return True

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Set `key` if absent; atomic, as nothing here awaits."""
        if self._live(key):
            return False
        self._deadlines[key] = self._clock() + ttl_seconds
        return True

    async def put(self, key: str, ttl_seconds: float) -> None:
        """Set `key`, overwriting."""
        self._deadlines[key] = self._clock() + ttl_seconds

    async def exists(self, key: str) -> bool:
        """True if `key` is live."""
        return self._live(key)

    def sweep_expired(self) -> int:
        """Drop expired keys; return how many."""
        now = self._clock()
        return drop_expired(self._deadlines, lambda deadline: deadline <= now)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """Nothing to release."""
