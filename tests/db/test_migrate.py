"""Forward-only migrations under an advisory lock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from app.db.migrate import load_migrations, migrate


async def test_concurrent_migrators_apply_each_file_once(fresh_db_url: str) -> None:
    results = await asyncio.gather(*(migrate(fresh_db_url) for _ in range(4)))
    versions = [m.version for m in load_migrations()]
    assert sorted(v for r in results for v in r) == versions, "each applied exactly once"
    conn = await asyncpg.connect(fresh_db_url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == versions
        assert await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname='vector'") == 1
    finally:
        await conn.close()
    assert await migrate(fresh_db_url) == []


async def test_a_failing_migration_leaves_nothing_half_done(
    fresh_db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE b (x int); SELECT nonsense();")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(fresh_db_url, tmp_path)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('public.a') IS NOT NULL")
        assert not await conn.fetchval("SELECT to_regclass('public.b') IS NOT NULL")
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    finally:
        await conn.close()


def test_gaps_in_numbering_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(RuntimeError, match="without gaps"):
        load_migrations(tmp_path)


def test_lukhas_migrate_command(fresh_db_url: str) -> None:
    env = {**os.environ, "LUKHAS_DATABASE_URL": fresh_db_url}
    first = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    versions = [m.version for m in load_migrations()]
    assert f"applied migrations: {versions}" in first.stdout
    again = subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "up to date" in again.stdout
