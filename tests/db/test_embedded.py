"""The embedded PostgreSQL: no bookkeeping that grows per start, and a postmaster that dies
is started again in place."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import asyncpg

from app.db.embedded import EmbeddedPostgres


def _pids_file(pg: EmbeddedPostgres) -> Path:
    return pg.pgdata / ".handle_pids.json"


def _postmaster_pid(pg: EmbeddedPostgres) -> int:
    return int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0])


async def _one(url: str) -> int:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


def test_starts_leave_no_growing_pid_list(tmp_path: Path) -> None:
    for _ in range(3):  # clean starts and stops
        pg = EmbeddedPostgres(tmp_path)
        url = pg.start(keep_alive=False)
        assert asyncio.run(_one(url)) == 1
        pg.stop()
    for _ in range(2):  # a service that crashed: the next one adopts its running server
        pg = EmbeddedPostgres(tmp_path)
        pg.start(keep_alive=False)
    pg.stop()
    assert not _pids_file(pg).exists(), "no per-start pid bookkeeping is kept"


def test_a_killed_postmaster_is_restarted_in_place(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path)
    url = pg.start()
    try:
        old = _postmaster_pid(pg)
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pg.restarts and pg.alive()):
            time.sleep(0.05)
        assert pg.restarts == 1 and pg.alive()
        assert _postmaster_pid(pg) != old
        assert asyncio.run(_one(url)) == 1, "the same URL serves again"
    finally:
        pg.stop()
    assert not (pg.pgdata / "postmaster.pid").exists()
