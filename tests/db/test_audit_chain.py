"""The audit log is one hash chain: records written before it are chained by the migration,
concurrent appends keep one chain, and an edited, deleted or truncated record is found by
`lukhas audit verify`."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from app.db.migrate import MIGRATIONS_DIR, migrate
from app.db.pool import Database, open_pool
from app.db.repositories import audit
from app.guardian.audit import verify


@pytest.fixture
async def db(fresh_db_url: str) -> AsyncIterator[Database]:
    await migrate(fresh_db_url)
    pool = await open_pool(fresh_db_url, min_size=1, max_size=12)
    yield pool
    await pool.close()


async def _tamper(db: Database, sql: str, *args: object) -> None:
    # Someone with the rights to switch the append-only triggers off.
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(sql, *args)


async def _fill(db: Database, n: int) -> list[int]:
    async with db.acquire() as conn:
        return [await audit.append(conn, f"actor-{i}", "test.event", f"subject-{i}", {
            "i": i, "text": "é ✓ \"quoted\"", "nested": {"b": 1, "a": [1.5]}})
                for i in range(n)]


async def test_a_clean_chain_verifies(db: Database) -> None:
    ids = await _fill(db, 5)
    assert ids == sorted(ids)
    async with db.acquire() as conn:
        report = await verify(conn)
    assert report.ok, report.problems
    assert report.records == 5 and report.head_id == ids[-1]


async def test_concurrent_appends_keep_one_chain(db: Database) -> None:
    async def one(i: int) -> int:
        async with db.acquire() as conn, conn.transaction():
            return await audit.append(conn, "guardian", "guardian.block", None, {"i": i})

    ids = await asyncio.gather(*(one(i) for i in range(200)))
    assert len(set(ids)) == 200
    async with db.acquire() as conn:
        report = await verify(conn)
        links = await conn.fetchval(
            "SELECT count(*) FROM audit_log a JOIN audit_log b ON b.prev_hash = a.hash")
    assert report.ok, report.problems
    assert report.records == 200
    assert links == 199  # every record but the first follows exactly one other


async def test_the_log_refuses_updates_deletes_and_truncation(db: Database) -> None:
    ids = await _fill(db, 2)
    async with db.acquire() as conn:
        for sql in ("UPDATE audit_log SET actor = 'someone else' WHERE id = $1",
                    "DELETE FROM audit_log WHERE id = $1"):
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute(sql, ids[0])
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("TRUNCATE audit_log")
        assert (await verify(conn)).ok


async def test_an_edited_record_is_found(db: Database) -> None:
    ids = await _fill(db, 4)
    await _tamper(db, "UPDATE audit_log SET details = details || '{\"i\": 99}' WHERE id = $1",
                  ids[1])
    async with db.acquire() as conn:
        report = await verify(conn)
    assert not report.ok
    assert report.problems == (f"record {ids[1]}: its content does not match its hash",)


async def test_an_edit_that_recomputes_the_hash_still_breaks_the_next_link(
        db: Database) -> None:
    ids = await _fill(db, 4)
    await _tamper(db, "UPDATE audit_log SET actor = 'x', hash = audit_hash(prev_hash, id, at,"
                      " 'x', action, subject, details) WHERE id = $1", ids[1])
    async with db.acquire() as conn:
        report = await verify(conn)
    assert [p.split(":")[0] for p in report.problems] == [f"record {ids[2]}"]


async def test_a_deleted_record_is_found(db: Database) -> None:
    ids = await _fill(db, 4)
    await _tamper(db, "DELETE FROM audit_log WHERE id = $1", ids[2])
    async with db.acquire() as conn:
        report = await verify(conn)
    assert report.problems == (f"record {ids[3]}: the record before it is missing or was "
                               "changed (its link does not match)",)


async def test_deleting_the_newest_records_is_found(db: Database) -> None:
    ids = await _fill(db, 4)
    await _tamper(db, "DELETE FROM audit_log WHERE id >= $1", ids[2])
    async with db.acquire() as conn:
        report = await verify(conn)
    assert len(report.problems) == 1 and "head says" in report.problems[0]


async def test_records_written_before_the_chain_are_chained(fresh_db_url: str,
                                                            tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < 9:
            shutil.copy(path, before / path.name)
    await migrate(fresh_db_url, before)
    conn = await asyncpg.connect(fresh_db_url)
    try:
        for i in range(3):
            await conn.execute("INSERT INTO audit_log (actor, action, subject, details)"
                               " VALUES ($1, 'erase_subject', $2, $3::jsonb)",
                               f"admin-{i}", f"s-{i}", '{"memory": 2, "responses": 1}')
    finally:
        await conn.close()
    await migrate(fresh_db_url)
    pool = await open_pool(fresh_db_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as c:
            await audit.append(c, "admin", "erase_subject", "s-3", {"memory": 0})
            report = await verify(c)
    finally:
        await pool.close()
    assert report.ok, report.problems
    assert report.records == 4


async def test_the_cli_says_ok_or_names_the_problem(db: Database, fresh_db_url: str,
                                                     tmp_path: Path) -> None:
    ids = await _fill(db, 3)
    env = {**os.environ, "LUKHAS_DATABASE_URL": fresh_db_url, "LUKHAS_DATA_DIR": str(tmp_path)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", "audit", "verify"], env=env,
                              capture_output=True, text=True, timeout=60, check=False)

    done = await asyncio.to_thread(run)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok: 3 records, chain head {ids[-1]}"
    await _tamper(db, "UPDATE audit_log SET subject = NULL WHERE id = $1", ids[0])
    done = await asyncio.to_thread(run)
    assert done.returncode == 1
    assert f"record {ids[0]}: its content does not match its hash" in done.stdout
