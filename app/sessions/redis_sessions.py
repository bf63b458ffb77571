"""Sessions in Redis: one list per session, appended and trimmed by one Lua script."""

from __future__ import annotations

import hashlib

from app.core.turns import Turn
from app.kv.redis_client import make_redis, unavailable_on_error
from app.sessions.base import SessionLimits, decode, encode, trim

# KEYS[1]: the session list. ARGV: ttl_ms, max_turns, max_bytes, then the encoded turns.
# Appends, drops the oldest turns beyond either bound, and slides the TTL, atomically.
_APPEND = """
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local max_turns, max_bytes = tonumber(ARGV[2]), tonumber(ARGV[3])
while redis.call('LLEN', KEYS[1]) > max_turns do redis.call('LPOP', KEYS[1]) end
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local size = 0
for i = 1, #items do size = size + string.len(items[i]) end
local i = 1
while size > max_bytes and i <= #items do
  size = size - string.len(items[i]); redis.call('LPOP', KEYS[1]); i = i + 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('LLEN', KEYS[1])
"""


class RedisSessions:
    def __init__(self, url: str, limits: SessionLimits, prefix: str = "lukhas:session:") -> None:
        self._redis = make_redis(url)
        self._limits = limits
        self._prefix = prefix
        self._append = self._redis.register_script(_APPEND)

    def _owner(self, subject: str) -> str:
        # The subject may hold any character; hash it so the key stays well-formed.
        return hashlib.sha256(subject.encode()).hexdigest()[:32]

    def _key(self, subject: str, session_id: str) -> str:
        return f"{self._prefix}{self._owner(subject)}:{session_id}"

    def _ttl_ms(self) -> int:
        return max(1, round(self._limits.ttl_seconds * 1000))

    async def get(self, subject: str, session_id: str) -> list[Turn] | None:
        """`LRANGE`; None when the key has expired or never was."""
        with unavailable_on_error():
            raw = await self._redis.lrange(self._key(subject, session_id), 0, -1)
        return [decode(item) for item in raw] if raw else None

    async def put(self, subject: str, session_id: str, turns: list[Turn]) -> None:
        """Replace in one transaction."""
        key = self._key(subject, session_id)
        kept = [encode(t) for t in trim(turns, self._limits)]
        with unavailable_on_error():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                if kept:
                    pipe.rpush(key, *kept)
                    pipe.pexpire(key, self._ttl_ms())
                await pipe.execute()

    async def append(self, subject: str, session_id: str, turns: list[Turn]) -> None:
        """One script call: atomic against every other writer."""
        if not turns:
            return
        args: list[bytes | int] = [self._ttl_ms(), self._limits.max_turns,
                                   self._limits.max_bytes, *[encode(t) for t in turns]]
        with unavailable_on_error():
            await self._append(keys=[self._key(subject, session_id)], args=args)

    async def touch(self, subject: str, session_id: str) -> bool:
        """`PEXPIRE`."""
        with unavailable_on_error():
            return bool(await self._redis.pexpire(self._key(subject, session_id),
                                                  self._ttl_ms()))

    async def delete(self, subject: str, session_id: str) -> bool:
        """`DEL`."""
        with unavailable_on_error():
            return bool(await self._redis.delete(self._key(subject, session_id)))

    async def erase_subject(self, subject: str) -> int:
        """`SCAN` the subject's keys and delete them."""
        erased = 0
        with unavailable_on_error():
            async for key in self._redis.scan_iter(
                    match=f"{self._prefix}{self._owner(subject)}:*", count=500):
                erased += int(await self._redis.delete(key))
        return erased

    async def close(self) -> None:
        """Close the pool."""
        await self._redis.aclose()
