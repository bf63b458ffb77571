"""The failure counter in Redis: shared by every worker, one round trip per call, counted
and expired by Redis itself."""

from __future__ import annotations

from collections.abc import Sequence

from app.identity.throttle import Count
from app.kv.redis_client import make_redis, unavailable_on_error

# KEYS: counters. ARGV[1]: window in ms. Returns {count, pttl} per key.
_ADD = """
local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  out[#out + 1] = n
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out
"""

_PEEK = """
local out = {}
for i = 1, #KEYS do
  out[#out + 1] = tonumber(redis.call('GET', KEYS[i]) or '0')
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
return out
"""


def _counts(raw: Sequence[int]) -> list[Count]:
    return [Count(int(raw[i]), max(0, int(raw[i + 1])) / 1000) for i in range(0, len(raw), 2)]


class RedisFailures:
    """Failure counts under `prefix`; Redis errors surface as StoreUnavailable."""

    def __init__(self, url: str, prefix: str = "lukhas:authfail:") -> None:
        self._redis = make_redis(url, timeout=0.5)
        self._add = self._redis.register_script(_ADD)
        self._peek = self._redis.register_script(_PEEK)
        self._prefix = prefix

    async def add(self, keys: Sequence[str], window_s: float) -> list[Count]:
        """INCR each key (PEXPIRE on the first failure), atomically."""
        with unavailable_on_error():
            raw = await self._add(keys=[self._prefix + k for k in keys],
                                  args=[max(1, round(window_s * 1000))])
        return _counts(raw)

    async def peek(self, keys: Sequence[str]) -> list[Count]:
        """GET and PTTL of each key, in one round trip."""
        with unavailable_on_error():
            raw = await self._peek(keys=[self._prefix + k for k in keys])
        return _counts(raw)

    async def clear(self, key: str) -> None:
        """DEL."""
        with unavailable_on_error():
            await self._redis.delete(self._prefix + key)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
