"""One way to open Redis: a bounded pool where callers wait for a free connection (instead of
failing with "too many connections" under a burst), with short timeouts. And one way to
report it down: as `StoreUnavailable`, which callers turn into a fail-closed 503 or a
fallback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from app.kv.base import StoreUnavailable

MAX_CONNECTIONS = 64


def make_redis(url: str, *, timeout: float = 1.0) -> aioredis.Redis:
    """A client on a blocking pool of at most MAX_CONNECTIONS."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=timeout, socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


@contextmanager
def unavailable_on_error() -> Iterator[None]:
    """Raise any Redis error inside the block as `StoreUnavailable`."""
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(str(exc)) from exc
