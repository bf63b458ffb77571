"""The in-process key-value backend: a dict with expiry times (one process only)."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.expiry import drop_expired


class MemoryStore:
    """Keys with deadlines; expired keys are dropped when touched or swept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, str]] = {}  # key → (deadline, value)
        self._clock = clock

    def _live(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    async def claim(self, key: str, ttl_seconds: float, value: str = "1") -> bool:
        """Set `key` if absent; atomic, as nothing here awaits."""
        if self._live(key) is not None:
            return False
        self._entries[key] = (self._clock() + ttl_seconds, value)
        return True

    async def put(self, key: str, ttl_seconds: float, value: str = "1") -> None:
        """Set `key`, overwriting."""
        self._entries[key] = (self._clock() + ttl_seconds, value)

    async def get(self, key: str) -> str | None:
        """The live value of `key`."""
        return self._live(key)

    async def exists(self, key: str) -> bool:
        """True if `key` is live."""
        return self._live(key) is not None

    def sweep_expired(self) -> int:
        """Drop expired keys; return how many."""
        now = self._clock()
        return drop_expired(self._entries, lambda entry: entry[0] <= now)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """Nothing to release."""
