"""The Redis limiter: the GCRA step of `ratelimit.gcra` as one Lua script, so every worker
sharing the Redis sees one atomic counter, timed by Redis's own clock."""

from __future__ import annotations

from app.kv.redis_client import make_redis
from app.reliability.ratelimit import Decision, Limit, decision

# KEYS: TAT keys (requests, then tokens if limited). ARGV: window_ms, then per key: interval_ms,
# cost. Returns {allowed, retry_ms, reset_ms per key} as strings (floats survive that way).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local window = tonumber(ARGV[1])
local n = #KEYS
local tats, new, wait = {}, {}, 0
local allowed = true
for i = 1, n do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  new[i] = tat + tonumber(ARGV[2 * i]) * tonumber(ARGV[2 * i + 1])
  local w = new[i] - now - window
  if w > 0 then allowed = false; if w > wait then wait = w end end
end
local out = {allowed and '1' or '0', tostring(wait)}
for i = 1, n do
  local tat = tats[i]
  if allowed then
    tat = new[i]
    redis.call('SET', KEYS[i], tostring(tat), 'PX', math.max(1, math.ceil(tat - now)))
  end
  out[#out + 1] = tostring(tat - now)
end
return out
"""

# KEYS[1]: token TAT key. ARGV: delta_ms (may be negative). Never moves the TAT before now.
_SETTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
tat = math.max(now, tat + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.max(1, math.ceil(tat - now)))
return 1
"""


class RedisLimiter:
    """GCRA in Redis; raises redis errors to the caller, who decides to fail open."""

    def __init__(self, url: str, prefix: str = "lukhas:rl:") -> None:
        self._redis = make_redis(url, timeout=0.5)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._settle = self._redis.register_script(_SETTLE)
        self._prefix = prefix

    async def acquire(self, key: str, limit: Limit, window: float, tokens: int) -> Decision:
        """One round trip (EVALSHA)."""
        keys = [f"{self._prefix}{key}:r"]
        args: list[float] = [window * 1000, window * 1000 / limit.requests, 1]
        if limit.tokens is not None:
            keys.append(f"{self._prefix}{key}:t")
            args += [window * 1000 / limit.tokens, tokens]
        out = await self._acquire(keys=keys, args=args)
        allowed = out[0] == b"1"
        resets = [float(v) / 1000 for v in out[2:]]
        return decision(allowed, float(out[1]) / 1000, limit, window, resets)

    async def settle(self, key: str, limit: Limit, window: float, delta_tokens: int) -> None:
        """One round trip, only when the estimate was off."""
        if limit.tokens is None or delta_tokens == 0:
            return
        delta_ms = delta_tokens * window * 1000 / limit.tokens
        await self._settle(keys=[f"{self._prefix}{key}:t"], args=[delta_ms])

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

