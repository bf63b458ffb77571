"""Throttling of failed authentication, per client address and per presented key id.

A failure (a wrong API key or ΛiD token, a wrong username, password or one-time code) is
counted under two keys: the client's address (an IPv6 address by its /64) and the key id it
presented (an API key's first characters, a token's alias or kid, a username). Each count
lives for a fixed window from its first failure. Past a key's limit, the next attempts get
429 `rate_limit_error` with `retry-after`, `retry-after-ms` and `x-should-retry: false` (a
client retrying a wrong credential gains nothing) until the window ends.

Successful requests pay nothing here: the credential middleware consults the counts only on
its failure path (guessing a 256-bit key or forging a signature is hopeless, so a valid
credential from a busy address is let through); password logins, where guessing is the
threat, check before verifying, a cost hidden by Argon2's. If the store is down, the
throttle fails open and counts that; account lockout (in PostgreSQL) still holds.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson
from prometheus_client import Counter
from redis.exceptions import RedisError

from app.errors import RateLimited
from app.expiry import drop_expired
from app.kv.base import StoreUnavailable

log = logging.getLogger("lukhas.identity.throttle")
API_KEY_ID_CHARS = 12  # how much of a presented API key names it (as OpenAI shows `sk-...`)


@dataclass(frozen=True, slots=True)
class Count:
    failures: int
    resets_in_s: float


class FailureCounter(Protocol):
    async def add(self, keys: Sequence[str], window_s: float) -> list[Count]:
        """Count one failure under each key (a new key lives `window_s`)."""
        ...

    async def peek(self, keys: Sequence[str]) -> list[Count]:
        """The current counts, without adding."""
        ...

    async def clear(self, key: str) -> None:
        """Forget one key's failures."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryFailures:
    """The in-process counter (one process only). At most `max_keys` counts are kept: past
    that, the oldest is forgotten, so failures from many addresses cannot grow it unbounded."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._clock = clock
        self._max_keys = max_keys

    def _get(self, key: str, now: float) -> tuple[int, float]:
        n, deadline = self._counts.get(key, (0, now))
        return (0, now) if deadline <= now else (n, deadline)

    async def add(self, keys: Sequence[str], window_s: float) -> list[Count]:
        """Nothing awaits inside, so this is atomic on the event loop."""
        now = self._clock()
        out = []
        for key in keys:
            n, deadline = self._get(key, now)
            if n == 0:
                deadline = now + window_s
                self._counts.pop(key, None)  # re-inserted last: insertion order is age
                if len(self._counts) >= self._max_keys:
                    del self._counts[next(iter(self._counts))]
            self._counts[key] = (n + 1, deadline)
            out.append(Count(n + 1, deadline - now))
        return out

    async def peek(self, keys: Sequence[str]) -> list[Count]:
        """The live counts."""
        now = self._clock()
        return [Count(n, deadline - now) for n, deadline in (self._get(k, now) for k in keys)]

    async def clear(self, key: str) -> None:
        """Forget `key`."""
        self._counts.pop(key, None)

    def sweep_expired(self) -> int:
        """Drop the counts whose window is over."""
        now = self._clock()
        return drop_expired(self._counts, lambda entry: entry[1] <= now)

    async def close(self) -> None:
        """Nothing to release."""


def address_key(client: tuple[str, int] | None) -> str:
    """The throttle key of a client address; an IPv6 client by its /64 (one host's range)."""
    host = client[0] if client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"addr:{host}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def credential_key(credential: str) -> str:
    """The key id a bearer credential presents: a token's claimed alias (or its kid; the
    signature part plays no role, so tampered copies of a token count together), or the
    first characters of an API key."""
    if credential.count(".") == 2:
        head, body, _ = credential.split(".")
        for part, field, kind in ((body, "sub", "lid"), (head, "kid", "kid")):
            try:
                # orjson refuses nesting past 1024 levels with a ValueError, where the json
                # module would recurse until RecursionError.
                value = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            except (ValueError, TypeError):
                continue
            if isinstance(value, dict) and isinstance(value.get(field), str):
                return f"{kind}:{value[field][:128]}"
        return "lid:malformed"
    return f"key:{credential[:API_KEY_ID_CHARS]}"


def username_key(username: str) -> str:
    """The key id of a login: its username, case folded."""
    return f"user:{username.casefold()}"


def _stored(key: str) -> str:
    # Hashed: the store never holds usernames or key prefixes, and keys stay short.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def too_many_failures(wait_s: float) -> RateLimited:
    """The one answer to a throttled client or a locked account: they look alike, so a
    lockout does not tell that a username exists."""
    wait = max(0.001, wait_s)
    return RateLimited(
        f"Too many failed authentication attempts. Try again in {max(1, round(wait))}s.",
        retry_after_s=wait, code="too_many_failed_attempts",
        headers={"x-should-retry": "false"},
    )


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    window_s: float
    address_failures: int
    key_failures: int


class AuthThrottle:
    """The policy over a FailureCounter: which keys, which limits, what a refusal says."""

    def __init__(self, counter: FailureCounter, limits: ThrottleLimits, failures: Counter,
                 *, enabled: bool = True) -> None:
        self._counter = counter
        self._limits = limits
        self._failures = failures
        self.enabled = enabled

    async def check(self, surface: str, address: str, key_id: str) -> None:
        """Raise 429 if either key is already past its limit (before any verification)."""
        if not self.enabled:
            return
        try:
            counts = await self._counter.peek([_stored(address), _stored(key_id)])
        except (StoreUnavailable, RedisError, OSError) as exc:
            self._fail_open(surface, exc)
            return
        refusal = self._refusal(counts, at_limit=True)
        if refusal is not None:
            self._failures.labels(surface=surface, outcome="throttled").inc()
            raise refusal

    async def failed(self, surface: str, address: str, key_id: str) -> RateLimited | None:
        """Count a failure; the 429 to answer instead of 401 if a limit is now passed."""
        self._failures.labels(surface=surface, outcome="rejected").inc()
        if not self.enabled:
            return None
        try:
            counts = await self._counter.add([_stored(address), _stored(key_id)],
                                             self._limits.window_s)
        except (StoreUnavailable, RedisError, OSError) as exc:
            self._fail_open(surface, exc)
            return None
        refusal = self._refusal(counts, at_limit=False)
        if refusal is not None:
            self._failures.labels(surface=surface, outcome="throttled").inc()
        return refusal

    async def succeeded(self, key_id: str) -> None:
        """A success clears the key id's failures (not the address's)."""
        if not self.enabled:
            return
        try:
            await self._counter.clear(_stored(key_id))
        except (StoreUnavailable, RedisError, OSError) as exc:
            self._fail_open("password", exc)

    def _refusal(self, counts: list[Count], *, at_limit: bool) -> RateLimited | None:
        limits = (self._limits.address_failures, self._limits.key_failures)
        waits = [c.resets_in_s for c, limit in zip(counts, limits, strict=True)
                 if c.failures > limit or (at_limit and c.failures >= limit)]
        if not waits:
            return None
        return too_many_failures(max(waits))

    def refuse(self, surface: str, wait_s: float) -> RateLimited:
        """The 429 for a refusal decided elsewhere (a locked account), counted."""
        self._failures.labels(surface=surface, outcome="throttled").inc()
        return too_many_failures(wait_s)

    def _fail_open(self, surface: str, exc: BaseException) -> None:
        self._failures.labels(surface=surface, outcome="store_unavailable").inc()
        log.warning("auth throttle store unavailable; failing open", extra={"error": str(exc)})
