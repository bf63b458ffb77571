"""One way to open Redis: a bounded pool where callers wait for a free connection (instead of
failing with "too many connections" under a burst), with short timeouts."""

from __future__ import annotations

from redis import asyncio as aioredis

MAX_CONNECTIONS = 64


def make_redis(url: str, *, timeout: float = 1.0) -> aioredis.Redis:
    """A client on a blocking pool of at most MAX_CONNECTIONS."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=timeout, socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
