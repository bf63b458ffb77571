"""Consolidation ("sleep"): an idle caller's near-duplicate memories fold together, the
newest speaking for the fold; the fold guard's bounds open the breaker; erasure takes the
folds; recall answers from the folds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from app.memory.consolidation import Consolidator, FoldGuard, SleepSettings, clusters
from app.observability.metrics import Metrics
from tests.conftest import KEY_A
from tests.utils.app import running_app

PARIS = ["I live in Paris.", "I live in Paris now.", "I live in Paris, France."]


def test_clusters_take_the_newest_first() -> None:
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    rows = np.stack([a, b, a * 2, a + 0.01 * b, b])
    assert clusters(rows, 0.99) == [[0, 2, 3], [1, 4]]
    assert clusters(rows[:1], 0.5) == []


async def _token(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    made = (await client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()
    return {"Authorization": f"Bearer {made['token']}"}, made["alias"]


async def _say(client: httpx.AsyncClient, who: dict[str, str], *texts: str) -> None:
    for text in texts:
        made = await client.post("/v1/responses", headers=who,
                                 json={"model": "lukhas-matriz", "input": text})
        assert made.status_code == 200, made.text


async def _folds(pg_url: str, subject: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch("SELECT id, representative, members, depth FROM memory_folds"
                                " WHERE owner = $1", subject)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def _wait_for_folds(pg_url: str, subject: str) -> list[dict[str, Any]]:
    for _ in range(200):
        found = await _folds(pg_url, subject)
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no fold was written")


async def test_an_idle_callers_near_duplicates_fold_and_recall_answers_from_the_fold(
        pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, tick_hz=100,
                           memory_sleep_idle_seconds=0.2,
                           memory_fold_similarity=0.6) as client:
        who, subject = await _token(client)
        await _say(client, who, *PARIS, "My favourite colour is teal.")
        (fold,) = await _wait_for_folds(pg_url, subject)
        conn = await asyncpg.connect(pg_url)
        try:
            docs = {r["content"]: r for r in await conn.fetch(
                "SELECT id, content, fold, superseded FROM memory_documents WHERE owner = $1",
                subject)}
        finally:
            await conn.close()
        assert fold["representative"] == docs[PARIS[-1]]["id"]  # the newest speaks
        assert sorted(fold["members"]) == sorted(docs[t]["id"] for t in PARIS)
        assert [docs[t]["superseded"] for t in PARIS] == [True, True, False]
        assert docs["My favourite colour is teal."]["fold"] is None
        answer = (await client.post("/v1/responses", headers=who, json={
            "model": "lukhas-matriz", "input": "Where do I live?"})).json()
        text = answer["output"][-1]["content"][0]["text"]
        assert "Paris, France" in text, text
        metrics = (await client.get("/metrics")).text
        assert 'lukhas_memory_folds_total{lane="dev"}' in metrics
        assert 'lukhas_matriz_engine_seconds_count{component="Consolidator",lane="dev"}' in metrics
        erased = await client.delete("/v1/identity/me/memory", headers=who)
        assert erased.status_code == 200
        assert await _folds(pg_url, subject) == []


async def test_a_later_duplicate_extends_the_fold_one_level_deeper(
        pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, tick_hz=100,
                           memory_sleep_idle_seconds=0.2,
                           memory_fold_similarity=0.6) as client:
        who, subject = await _token(client)
        await _say(client, who, *PARIS[:2])
        (first,) = await _wait_for_folds(pg_url, subject)
        await _say(client, who, PARIS[2])
        for _ in range(200):
            (fold,) = await _folds(pg_url, subject)
            if fold["depth"] == 2:
                break
            await asyncio.sleep(0.05)
        assert fold["id"] == first["id"] and fold["depth"] == 2 and len(fold["members"]) == 3


async def _sleeper(app_client: httpx.AsyncClient, guard: FoldGuard,
                   exporter: InMemorySpanExporter | None = None,
                   ) -> tuple[Consolidator, CollectorRegistry]:
    registry = CollectorRegistry()
    provider = TracerProvider()
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    pool = app_client.app.state.lukhas.pool  # type: ignore[attr-defined]
    return Consolidator(pool, Metrics(registry), "candidate",
                        settings=SleepSettings(similarity=0.6, idle_seconds=0), guard=guard,
                        tracer=provider.get_tracer("test")), registry


async def test_the_fold_guard_opens_the_breaker(app_client: httpx.AsyncClient) -> None:
    who, subject = await _token(app_client)
    await _say(app_client, who, *PARIS)
    exporter = InMemorySpanExporter()
    sleeper, registry = await _sleeper(app_client, FoldGuard(max_fan_out=2), exporter)
    assert await sleeper.run([subject]) == 0  # a fold of three: over the fan-out of two
    assert sleeper.open_until > 0
    assert registry.get_sample_value("lukhas_memory_circuit_breaks_total",
                                     {"lane": "candidate"}) == 1.0
    (span,) = exporter.get_finished_spans()
    assert span.name == "consciousness.consolidate" and span.attributes["lukhas.folds"] == 0
    sleeper.mark(subject)
    sleeper([])  # the breaker is open: no pass starts
    assert sleeper._task is None
    roomy, _ = await _sleeper(app_client, FoldGuard(max_fan_out=3, max_folds=1))
    assert await roomy.run([subject]) == 1


async def test_depth_and_window_are_bounded(app_client: httpx.AsyncClient) -> None:
    who, subject = await _token(app_client)
    await _say(app_client, who, *PARIS[:2])
    shallow, _ = await _sleeper(app_client, FoldGuard(max_depth=1))
    assert await shallow.run([subject]) == 1
    await _say(app_client, who, PARIS[2])
    assert await shallow.run([subject]) == 0 and shallow.open_until > 0  # depth 2 > 1
    other, other_subject = await _token(app_client)
    await _say(app_client, other, "I work at the library.", "I work at the library now.",
               "My dog is called Rex.", "My dog is called Rex, yes.")
    narrow, _ = await _sleeper(app_client, FoldGuard(max_folds=1))
    assert await narrow.run([other_subject]) == 1 and narrow.open_until > 0


def test_replay_marks_the_callers_who_wrote() -> None:
    sleeper = Consolidator(None, Metrics(CollectorRegistry()), "candidate")
    sleeper.replay([{"subject": "lid#a"}, {"subject": "lid#b"}, {"subject": "lid#a"}])
    assert set(sleeper._marked) == {"lid#a", "lid#b"}
