"""The dream runner driven by hand (the app's tick slowed to a crawl, so it never competes):
an interrupted dream resumes where it was; one interrupted too often fails; a cancelled one
is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db.repositories import dreams as repo
from app.dreams.journal import Dream, Journal, Signals
from app.dreams.machine import DreamStatus, is_terminal
from app.dreams.runner import MAX_ATTEMPTS
from app.state import AppState
from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.dreams import remember, subject_of

OPEN = "status NOT IN ('completed', 'failed', 'cancelled', 'incomplete')"
SEA = ["Anna lives in Lisbon and loves the sea.", "Anna is learning to sail in Lisbon.",
       "Bruno and Anna met in Porto in May."]


@pytest.fixture
async def slow(fresh_db_url: str,
               tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    """The app with a tick of once per 100 s: after its first tick, no worker starts. A
    database of its own: another process's runner (the live server's) would take a dream
    queued in a shared one before the test claims it."""
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           tick_hz=0.01) as client:
        state: AppState = client.app.state.lukhas  # type: ignore[attr-defined]
        # The first tick's worker finishes what is open (nothing, here), then stops.
        for _ in range(600):
            async with state.pool.acquire() as conn:
                if not await conn.fetchval(f"SELECT count(*) FROM dreams WHERE {OPEN}"):
                    break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        yield client, state


async def queued(client: httpx.AsyncClient, state: AppState, seed: str) -> str:
    await remember(state, await subject_of(state, KEY_A), SEA)
    resp = await client.post("/v1/dreams", json={"model": "lukhas-matriz", "seed": seed})
    assert resp.status_code == 200 and resp.json()["status"] == "queued"
    return str(resp.json()["id"])


async def claim(state: AppState, dream_id: str) -> Dream:
    async with state.pool.acquire() as conn:
        row = await repo.claim(conn, 30.0)
    assert row is not None and row["id"] == dream_id
    return Dream.from_row(row)


async def types(state: AppState, dream_id: str) -> list[str]:
    async with state.pool.acquire() as conn:
        return [r["type"] for r in await repo.steps(conn, dream_id, -1)]


def _started(state: AppState) -> float:
    return state.metrics.registry.get_sample_value("lukhas_dreams_started_total") or 0.0


async def test_a_dream_interrupted_mid_way_resumes_where_it_was(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    dream_id = await queued(client, state, "interrupted")
    started = _started(state)
    runner = state.dream_runner
    first = asyncio.create_task(runner.run(await claim(state, dream_id)))
    for _ in range(10_000):  # poll closely: the phases take milliseconds
        if "dream.associating" in await types(state, dream_id):
            break
        await asyncio.sleep(0.001)
    first.cancel()  # the process dies: its claim is left to lapse
    with pytest.raises(asyncio.CancelledError):
        await first
    async with state.pool.acquire() as conn:
        assert await repo.claim(conn, 30.0) is None, "held until the lease lapses"
        await conn.execute("UPDATE dreams SET claimed_until = now() - interval '1 s'"
                           " WHERE id = $1", dream_id)
    again = await claim(state, dream_id)
    assert again.attempts == 2 and not is_terminal(again.status)
    assert again.status not in (DreamStatus.QUEUED, DreamStatus.GATHERING)
    await runner.run(again)
    got = (await client.get(f"/v1/dreams/{dream_id}")).json()
    # At least the three remembered here (the caller is shared with other tests).
    assert got["status"] == "completed" and got["summary"]["memories"] >= 3
    seen = await types(state, dream_id)
    for kind in ("dream.gathering", "dream.memories", "dream.associating", "dream.links",
                 "dream.generating", "dream.completed"):
        assert seen.count(kind) == 1, (kind, seen)
    assert _started(state) == started + 1  # resumed, not started again


async def test_a_dream_interrupted_too_often_fails_with_the_reason(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    dream_id = await queued(client, state, "too often")
    started = _started(state)
    async with state.pool.acquire() as conn:
        await conn.execute("UPDATE dreams SET attempts = $2 WHERE id = $1", dream_id,
                           MAX_ATTEMPTS)
    await state.dream_runner.run(await claim(state, dream_id))
    got = (await client.get(f"/v1/dreams/{dream_id}")).json()
    assert got["status"] == "failed" and got["reason"]["code"] == "interrupted"
    assert _started(state) == started  # failed in the queue: never started
    assert f"interrupted {MAX_ATTEMPTS} times" in got["reason"]["message"]


async def test_a_cancelled_dream_is_left_alone(slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    dream_id = await queued(client, state, "cancel me")
    cancelled = await client.post(f"/v1/dreams/{dream_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body: dict[str, Any] = cancelled.json()
    assert body["status"] == "cancelled" and body["reason"]["code"] == "cancelled"
    assert (await client.post(f"/v1/dreams/{dream_id}/cancel")).json()["status"] == "cancelled"
    async with state.pool.acquire() as conn:
        assert await repo.claim(conn, 30.0) is None, "nothing open to claim"
    assert await types(state, dream_id) == ["dream.queued", "dream.cancelled"]


async def test_cancelling_a_running_dream_stops_its_worker(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    dream_id = await queued(client, state, "stop")
    dream = await claim(state, dream_id)
    # The worker writes its first move; then the caller cancels before it goes on.
    journal = Journal(state.pool, Signals(), state.metrics)
    assert await journal.write(dream, [], DreamStatus.GATHERING)
    assert (await client.post(f"/v1/dreams/{dream_id}/cancel")).json()["status"] == "cancelled"
    await state.dream_runner.run(dream)  # finds it cancelled at its next write and stops
    assert await types(state, dream_id) == ["dream.queued", "dream.gathering",
                                            "dream.cancelled"]


async def test_a_stream_of_a_deleted_dream_ends_with_an_error_event(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    dream_id = await queued(client, state, "to be deleted")
    following = asyncio.create_task(client.get(f"/v1/dreams/{dream_id}",
                                               params={"stream": "true"}))
    await asyncio.sleep(0.2)  # the stream has sent `dream.queued` and waits
    assert (await client.delete(f"/v1/dreams/{dream_id}")).status_code == 200
    text = (await asyncio.wait_for(following, 10)).text
    assert text.startswith("event: dream.queued\n")
    assert "event: error\n" in text and '"code":"dream_not_found"' in text


async def test_unstored_dreams_left_unstreamed_are_swept(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    _, state = slow
    async with state.pool.acquire() as conn:
        for dream_id, minutes in (("dream_old", 20), ("dream_new", 1)):
            await conn.execute(
                "INSERT INTO dreams (id, owner, tier, model, seed, constraints, store, status,"
                " ended_at) VALUES ($1, 'sweep-owner', 'T2', 'm', 's', '{}', false,"
                " 'queued', now() - make_interval(mins => $2))", dream_id, minutes)
            await conn.execute("UPDATE dreams SET status = 'cancelled' WHERE id = $1",
                               dream_id)
        assert await repo.delete_unstored(conn, 600.0) == 1
        left = await conn.fetch("SELECT id FROM dreams WHERE owner = 'sweep-owner'")
        assert [r["id"] for r in left] == ["dream_new"]
        await conn.execute("DELETE FROM dreams WHERE owner = 'sweep-owner'")


async def test_started_and_ended_dreams_are_counted(
        slow: tuple[httpx.AsyncClient, AppState]) -> None:
    client, state = slow
    before = state.metrics.registry.get_sample_value("lukhas_dreams_total",
                                                     {"status": "completed"}) or 0.0
    dream_id = await queued(client, state, "counted")
    started = _started(state)
    await state.dream_runner.run(await claim(state, dream_id))
    assert _started(state) == started + 1
    after = state.metrics.registry.get_sample_value("lukhas_dreams_total",
                                                    {"status": "completed"})
    assert after == before + 1
    phases = state.metrics.registry.get_sample_value("lukhas_dream_phase_seconds_count",
                                                     {"stage": "critiquing"})
    assert phases is not None and phases >= 1
