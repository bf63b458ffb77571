"""The small key-value contract that revocations and single-use nonces need.

Two backends keep it: Redis (`LUKHAS_REDIS_URL`; required for more than one worker) and an
in-process one (one process only). Both are atomic for `claim`.
"""

from __future__ import annotations

from typing import Protocol


class StoreUnavailable(Exception):
    """The backing store could not be reached."""


class KeyValueStore(Protocol):
    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """Set `key` if absent, expiring after `ttl_seconds`; True if this call set it."""
        ...

    async def put(self, key: str, ttl_seconds: float) -> None:
        """Set `key` (overwriting), expiring after `ttl_seconds`."""
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
