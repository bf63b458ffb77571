"""The Redis key-value backend (redis-py's asyncio client)."""

from __future__ import annotations

import math

from redis.exceptions import RedisError

from app.kv.base import StoreUnavailable
from app.kv.redis_client import make_redis


class RedisStore:
    """Keys under a prefix, with Redis's own expiry (`SET ... NX PX`)."""

    def __init__(self, url: str, prefix: str = "lukhas:") -> None:
        self._redis = make_redis(url)
        self._prefix = prefix

    @staticmethod
    def _ms(ttl_seconds: float) -> int:
        return max(1, math.ceil(ttl_seconds * 1000))

    async def claim(self, key: str, ttl_seconds: float) -> bool:
        """`SET key 1 NX PX ttl`: atomic across every worker sharing this Redis."""
        try:
            done = await self._redis.set(self._prefix + key, b"1", nx=True,
                                         px=self._ms(ttl_seconds))
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        return bool(done)

    async def put(self, key: str, ttl_seconds: float) -> None:
        """`SET key 1 PX ttl`."""
        try:
            await self._redis.set(self._prefix + key, b"1", px=self._ms(ttl_seconds))
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def exists(self, key: str) -> bool:
        """`EXISTS key`."""
        try:
            return bool(await self._redis.exists(self._prefix + key))
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def ping(self) -> None:
        """`PING`."""
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
