"""The Redis key-value backend (redis-py's asyncio client)."""

from __future__ import annotations

import math

from app.kv.redis_client import make_redis, unavailable_on_error


class RedisStore:
    """Keys under a prefix, with Redis's own expiry (`SET ... NX PX`)."""

    def __init__(self, url: str, prefix: str = "lukhas:") -> None:
        self._redis = make_redis(url)
        self._prefix = prefix

    @staticmethod
    def _ms(ttl_seconds: float) -> int:
        return max(1, math.ceil(ttl_seconds * 1000))

    async def claim(self, key: str, ttl_seconds: float, value: str = "1") -> bool:
        """`SET key value NX PX ttl`: atomic across every worker sharing this Redis."""
        with unavailable_on_error():
            done = await self._redis.set(self._prefix + key, value.encode(), nx=True,
                                         px=self._ms(ttl_seconds))
        return bool(done)

    async def put(self, key: str, ttl_seconds: float, value: str = "1") -> None:
        """`SET key value PX ttl`."""
        with unavailable_on_error():
            await self._redis.set(self._prefix + key, value.encode(), px=self._ms(ttl_seconds))

    async def get(self, key: str) -> str | None:
        """`GET key`."""
        with unavailable_on_error():
            raw = await self._redis.get(self._prefix + key)
        return raw.decode() if isinstance(raw, bytes) else raw

    async def exists(self, key: str) -> bool:
        """`EXISTS key`."""
        with unavailable_on_error():
            return bool(await self._redis.exists(self._prefix + key))

    async def ping(self) -> None:
        """`PING`."""
        with unavailable_on_error():
            await self._redis.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
