"""Revocations and single-use marks of ΛiD tokens: PostgreSQL is their record, the
key-value store (Redis, or the in-process one) a cache in front of it.

Losing the cache (a Redis restart without persistence) loses nothing: a miss consults the
database. The hot path stays cheap: each token's revocation state is cached, a revoked
token as `1` until the mark ends, a token found not revoked as `0` for a short while
(`negative_ttl`). A revocation writes through (database, then cache), and its `1`
overwrites a cached `0`, while a `0` is only ever set if nothing is cached (`claim`), so a
check racing a revocation can never hide it.

Single use is decided by the database alone (`INSERT ... ON CONFLICT DO NOTHING` on the
mark's primary key), atomic across workers; the cache only turns away a replay early.

Without a database (command-line tools, which only issue tokens), the store is the record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime

from app.db.pool import Database
from app.db.repositories import token_marks as repo
from app.kv.base import KeyValueStore, StoreUnavailable

log = logging.getLogger("lukhas.identity.marks")

REVOKED, LIVE = "1", "0"


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class TokenMarks:
    """Revoke, check revocation, and claim the single use of a token id (`jti`)."""

    def __init__(self, store: KeyValueStore, database: Database | None = None, *,
                 negative_ttl_seconds: float = 60.0) -> None:
        self._store = store
        self._db = database
        self._negative_ttl = negative_ttl_seconds

    async def revoke(self, jti: str, until: float) -> None:
        """Revoke `jti` until the epoch second `until` (never shortening an earlier one).
        Raises StoreUnavailable if the cache cannot be told (the database already was:
        a retry completes it); DatabaseUnavailable if the database is down."""
        key = f"lid:revoked:{jti}"
        if self._db is None:
            await self._store.put(key, max(1.0, until - time.time()), REVOKED)
            return
        async with self._db.acquire() as conn:
            ends = (await repo.revoke(conn, jti, _at(until))).timestamp()
        await self._store.put(key, max(1.0, ends - time.time()), REVOKED)

    async def revoked(self, jti: str, kept_for: float) -> bool:
        """True if `jti` is revoked; `kept_for` bounds how long an answer may be cached."""
        key = f"lid:revoked:{jti}"
        if self._db is None:
            return await self._store.get(key) == REVOKED
        try:
            cached = await self._store.get(key)
        except StoreUnavailable:
            log.warning("token cache unreachable; asking the database")
            cached = None
        if cached is not None:
            return cached == REVOKED
        async with self._db.acquire() as conn:
            until = await repo.revoked_until(conn, jti)
        try:
            if until is not None:
                await self._store.put(key, max(1.0, until.timestamp() - time.time()), REVOKED)
            else:
                await self._store.claim(key, min(self._negative_ttl, kept_for), LIVE)
        except StoreUnavailable:
            pass  # the answer stands; the next check asks the database again
        return until is not None

    async def use(self, jti: str, until: float) -> bool:
        """Claim the single use of `jti` (marked until the epoch second `until`); True for
        the first claim only."""
        key = f"lid:used:{jti}"
        ttl = max(1.0, until - time.time())
        if self._db is None:
            return await self._store.claim(key, ttl)
        try:
            if await self._store.get(key) is not None:
                return False  # a replay, turned away without a database round trip
        except StoreUnavailable:
            log.warning("token cache unreachable; asking the database")
        async with self._db.acquire() as conn:
            first = await repo.claim_use(conn, jti, _at(until))
        with contextlib.suppress(StoreUnavailable):
            await self._store.put(key, ttl)
        return first

    async def sweep(self, batch: int = 10_000) -> int:
        """Delete one batch of marks past their end from the database; return how many."""
        if self._db is None:
            return 0
        async with self._db.acquire() as conn:
            return await repo.sweep_expired(conn, batch)
