"""The asyncpg pool; pgvector's codec is registered on each new connection."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


async def _init_connection(conn: Any) -> None:
    # Binary jsonb (a version byte, then the JSON text), so COPY can carry it too.
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: b"\x01" + orjson.dumps(v),
        decoder=lambda b: orjson.loads(b[1:]), schema="pg_catalog", format="binary",
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
