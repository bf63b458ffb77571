"""In-process sessions (one process only)."""

from __future__ import annotations

import time
from collections.abc import Callable

from app.core.turns import Turn
from app.expiry import drop_expired
from app.sessions.base import SessionLimits, trim


class MemorySessions:
    def __init__(self, limits: SessionLimits,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._data: dict[tuple[str, str], tuple[float, list[Turn]]] = {}

    def _live(self, key: tuple[str, str]) -> list[Turn] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._data[key]
            return None
        return entry[1]

    def _store(self, key: tuple[str, str], turns: list[Turn]) -> None:
        self._data[key] = (self._clock() + self._limits.ttl_seconds, trim(turns, self._limits))

    async def get(self, subject: str, session_id: str) -> list[Turn] | None:
        """The live session's turns."""
        turns = self._live((subject, session_id))
        return None if turns is None else list(turns)

    async def put(self, subject: str, session_id: str, turns: list[Turn]) -> None:
        """Replace."""
        self._store((subject, session_id), list(turns))

    async def append(self, subject: str, session_id: str, turns: list[Turn]) -> None:
        """Add; nothing awaits, so concurrent appends cannot interleave."""
        key = (subject, session_id)
        self._store(key, (self._live(key) or []) + list(turns))

    async def touch(self, subject: str, session_id: str) -> bool:
        """Slide the TTL."""
        turns = self._live((subject, session_id))
        if turns is None:
            return False
        self._data[(subject, session_id)] = (self._clock() + self._limits.ttl_seconds, turns)
        return True

    async def delete(self, subject: str, session_id: str) -> bool:
        """Remove."""
        return self._data.pop((subject, session_id), None) is not None

    async def erase_subject(self, subject: str) -> int:
        """Delete every session of `subject`."""
        keys = [k for k in self._data if k[0] == subject]
        for key in keys:
            del self._data[key]
        return len(keys)

    def sweep_expired(self) -> int:
        """Drop expired sessions (synchronous, for the tick)."""
        now = self._clock()
        return drop_expired(self._data, lambda entry: entry[0] <= now)

    async def close(self) -> None:
        """Nothing to release."""
