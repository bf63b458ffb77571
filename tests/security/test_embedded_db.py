"""The embedded PostgreSQL is reachable only through a Unix socket in a private directory:
no TCP listener, so its trust authentication is not an open door on the network."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import asyncpg
import pytest

pytestmark = pytest.mark.security


async def settings(url: str, *names: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [await conn.fetchval(f"SHOW {name}") for name in names]
    finally:
        await conn.close()


def test_no_tcp_listener_and_a_private_socket_directory(pg_url: str) -> None:
    listen, sockets, data_dir = asyncio.run(settings(
        pg_url, "listen_addresses", "unix_socket_directories", "data_directory"))
    assert listen == "", "the embedded server must not listen on any IP address"
    socket_dir = Path(sockets.split(",")[0].strip())
    # The socket lives in the data directory (or one only its owner can enter).
    assert socket_dir.resolve() == Path(data_dir).resolve() or \
        stat.S_IMODE(socket_dir.stat().st_mode) & 0o077 == 0, socket_dir
    assert stat.S_IMODE(Path(data_dir).stat().st_mode) & 0o077 == 0, "PGDATA is private"
