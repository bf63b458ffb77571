"""The asyncpg pool; pgvector's codec is registered on each new connection."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


async def _init_connection(conn: Any) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
        schema="pg_catalog",
    )
    try:
        from pgvector.asyncpg import register_vector

        await register_vector(conn)
    except ValueError:
        # The extension is created by the first migration; a pool opened before it has none.
        pass


async def open_pool(url: str, *, min_size: int, max_size: int) -> Any:
    """Open a pool on `url` with our codecs."""
    return await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=_init_connection,
        command_timeout=30,
    )
