"""The small key-value contract that the cache of revocations and single-use marks needs.

Two backends keep it: Redis (`LUKHAS_REDIS_URL`; required for more than one worker) and an
in-process one (one process only). Both are atomic for `claim`. Neither is the record of
those marks: PostgreSQL is (`app/identity/marks.py`), so losing either loses nothing.
"""

from __future__ import annotations

from typing import Protocol


class StoreUnavailable(Exception):
    """The backing store could not be reached."""


class KeyValueStore(Protocol):
    async def claim(self, key: str, ttl_seconds: float, value: str = "1") -> bool:
        """Set `key` to `value` if absent, expiring after `ttl_seconds`; True if this call
        set it."""
        ...

    async def put(self, key: str, ttl_seconds: float, value: str = "1") -> None:
        """Set `key` to `value` (overwriting), expiring after `ttl_seconds`."""
        ...

    async def get(self, key: str) -> str | None:
        """The value of `key`, or None if it is not set or expired."""
        ...

    async def exists(self, key: str) -> bool:
        """True if `key` is set and not expired."""
        ...

    async def ping(self) -> None:
        """Raise StoreUnavailable if the store cannot be reached."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
