"""The conversations repository on real PostgreSQL: owner scoping, order under concurrent
appends, duplicates, and a delete racing an append."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.db.migrate import migrate
from app.db.pool import open_pool
from app.db.repositories import conversations as repo
from app.ids import new_id


@pytest.fixture
async def pool(fresh_db_url: str) -> AsyncIterator[Any]:
    await migrate(fresh_db_url)
    p = await open_pool(fresh_db_url, min_size=1, max_size=8)
    yield p
    await p.close()


def note(text: str) -> dict[str, Any]:
    return {"id": new_id("msg_"), "type": "message", "role": "user", "status": "completed",
            "content": [{"type": "input_text", "text": text}]}


async def test_owner_scoping_and_pages(pool: Any) -> None:
    made = [note(f"n{i}") for i in range(5)]
    async with pool.acquire() as conn:
        row = await repo.create(conn, id="conv_a", owner="alice", metadata={"k": "v"},
                                items=made)
        assert row.metadata == {"k": "v"} and row.created_at > 0
        for query in (repo.get(conn, "bob", "conv_a"), repo.items(conn, "bob", "conv_a"),
                      repo.page(conn, "bob", "conv_a", after=None, limit=5, order="asc"),
                      repo.get_item(conn, "bob", "conv_a", made[0]["id"]),
                      repo.update_metadata(conn, "bob", "conv_a", {})):
            assert await query is None
        assert not await repo.append(conn, "bob", "conv_a", [note("planted")])
        assert not await repo.delete_item(conn, "bob", "conv_a", made[0]["id"])
        assert not await repo.delete(conn, "bob", "conv_a")
        assert await repo.items(conn, "alice", "conv_a") == made

        first = await repo.page(conn, "alice", "conv_a", after=None, limit=2, order="desc")
        assert first is not None and first.items == made[:2:-1][:2] and first.has_more
        rest = await repo.page(conn, "alice", "conv_a", after=made[3]["id"], limit=5,
                               order="desc")
        assert rest is not None and rest.items == made[2::-1] and not rest.has_more
        with pytest.raises(repo.UnknownCursor):
            await repo.page(conn, "alice", "conv_a", after="msg_nope", limit=5, order="asc")
        assert await repo.delete_owner(conn, "alice") == 1
        assert await repo.get_item(conn, "alice", "conv_a", made[0]["id"]) is None


async def test_duplicates_are_refused_or_skipped(pool: Any) -> None:
    kept = note("kept")
    async with pool.acquire() as conn:
        await repo.create(conn, id="conv_d", owner="alice", metadata={}, items=[kept])
        with pytest.raises(repo.DuplicateItem) as again:
            await repo.append(conn, "alice", "conv_d", [note("new"), {**kept, "x": 1}])
        assert again.value.item_id == kept["id"]
        twice = note("twice")
        with pytest.raises(repo.DuplicateItem):
            await repo.append(conn, "alice", "conv_d", [twice, twice])
        assert await repo.items(conn, "alice", "conv_d") == [kept], "nothing half-added"
        added = note("added")
        assert await repo.append(conn, "alice", "conv_d", [{**kept, "x": 1}, added],
                                 skip_existing=True)
        assert await repo.items(conn, "alice", "conv_d") == [kept, added]


async def test_concurrent_appends_keep_each_batch_together(pool: Any) -> None:
    async with pool.acquire() as conn:
        await repo.create(conn, id="conv_c", owner="alice", metadata={}, items=[])

    batches = [[note(f"batch {b} item {i}") for i in range(3)] for b in range(16)]

    async def append(batch: list[dict[str, Any]]) -> None:
        async with pool.acquire() as conn:
            assert await repo.append(conn, "alice", "conv_c", batch)

    await asyncio.gather(*(append(batch) for batch in batches))
    async with pool.acquire() as conn:
        stored = await repo.items(conn, "alice", "conv_c")
    assert stored is not None and len(stored) == 48
    runs = [stored[i:i + 3] for i in range(0, 48, 3)]
    assert sorted(runs, key=lambda r: r[0]["id"]) == sorted(batches, key=lambda r: r[0]["id"])


async def test_a_delete_racing_appends_leaves_no_orphans(pool: Any) -> None:
    async with pool.acquire() as conn:
        await repo.create(conn, id="conv_r", owner="alice", metadata={}, items=[])

    async def append() -> bool:
        async with pool.acquire() as conn:
            added: bool = await repo.append(conn, "alice", "conv_r", [note("x"), note("y")])
            return added

    async def delete() -> bool:
        async with pool.acquire() as conn:
            deleted: bool = await repo.delete(conn, "alice", "conv_r")
            return deleted

    results = await asyncio.gather(*(append() for _ in range(5)), delete(),
                                   *(append() for _ in range(5)))
    assert results[5] is True
    async with pool.acquire() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM conversation_items WHERE conversation_id = 'conv_r'")
    assert left == 0
