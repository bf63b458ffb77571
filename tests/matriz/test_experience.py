"""The experience log: intentions, actions, memory writes and a reflection for every run,
written on the tick; rewards from feedback; the administrators' window; erasure; replay."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.matriz.experience import confidence
from app.matriz.nodes import reason
from app.matriz.nodes.validation import agreed
from app.matriz.tick import AwarenessEngine
from app.observability.metrics import Metrics
from tests.conftest import KEY_A
from tests.utils.app import running_app


async def _token(client: httpx.AsyncClient, tier: str = "T2") -> dict[str, str]:
    made = (await client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": tier})).json()
    return {"Authorization": f"Bearer {made['token']}", "subject": made["alias"]}


async def _events(client: httpx.AsyncClient, subject: str, want: int,
                  **params: Any) -> list[dict[str, Any]]:
    """The subject's events once at least `want` are written (the tick writes them)."""
    for _ in range(100):
        page = (await client.get("/v1/admin/events", params={"subject": subject,
                                                             **params})).json()
        if len(page["data"]) >= want:
            return list(page["data"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {want} events for {subject}: {page}")


def _caller(who: dict[str, str]) -> dict[str, str]:
    return {"Authorization": who["Authorization"]}


async def test_a_run_leaves_its_intention_action_memory_write_and_reflection(
        app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    made = (await app_client.post("/v1/responses", headers=_caller(who), json={
        "model": "lukhas-matriz", "input": "Compute (17*3)-4"})).json()
    events = await _events(app_client, who["subject"], 4)
    assert [e["kind"] for e in events] == ["intention", "action", "memory_write",
                                           "reflection"]
    assert {e["ref"] for e in events} == {made["id"]}
    assert events[0]["data"]["effects"] == ["store_response", "write_memory"]
    reflection = events[-1]["data"]
    assert reflection["asked"] == "Compute (17*3)-4"
    assert reflection["node"] == "arithmetic"
    assert reflection["validated"] is True and reflection["confidence"] == 1.0
    assert reflection["recalled"] == [] and reflection["seconds"] > 0
    assert events[0]["id"].startswith("evt_") and events[-1]["object"] == "experience.event"


async def test_a_reflection_names_what_was_recalled(app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    await app_client.post("/v1/responses", headers=_caller(who), json={
        "model": "lukhas-matriz", "input": "My favourite colour is teal."})
    asked = (await app_client.post("/v1/chat/completions", headers=_caller(who), json={
        "model": "lukhas-matriz",
        "messages": [{"role": "user", "content": "What is my favourite colour?"}]})).json()
    reflections = await _events(app_client, who["subject"], 2, kind="reflection")
    last = reflections[-1]
    assert last["ref"] == asked["id"]
    assert last["data"]["node"] == "recall" and last["data"]["recalled_count"] >= 1
    assert all(source.startswith("mem_") for source in last["data"]["recalled"])
    unknown = await app_client.post("/v1/chat/completions", headers=_caller(who), json={
        "model": "lukhas-matriz", "messages": [{"role": "user",
                                                "content": "Who won the 1930 World Cup?"}]})
    assert unknown.status_code == 200
    reflections = await _events(app_client, who["subject"], 3, kind="reflection")
    assert reflections[-1]["data"]["node"] == "unknown"
    assert reflections[-1]["data"]["confidence"] == 0.0


def test_confidence_follows_validation() -> None:
    assert agreed(reason("Compute 2+2", [])) is True
    assert agreed(reason("Who won the 1930 World Cup?", [])) is None
    assert agreed(reason("I live in Paris.", [])) is None
    assert confidence("arithmetic", True) == 1.0
    assert confidence("unknown", None) == 0.0 and confidence("unknown", False) == 0.0
    assert confidence("statement", None) == 0.5
    assert confidence("upstream-model", None) is None


async def test_feedback_is_a_reward(app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    made = (await app_client.post("/v1/responses", headers=_caller(who), json={
        "model": "lukhas-matriz", "input": "Compute 6*7", "store": True})).json()
    url = f"/v1/responses/{made['id']}/feedback"
    rated = await app_client.post(url, headers=_caller(who),
                                  json={"rating": 1, "comment": "exactly right"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["object"] == "response.feedback" and rated.json()["rating"] == 1
    rewards = await _events(app_client, who["subject"], 1, kind="reward")
    assert rewards[0]["ref"] == made["id"]
    assert rewards[0]["data"] == {"rating": 1.0, "comment": "exactly right"}
    for body, param in (({"rating": 2}, "rating"), ({"rating": 0.5, "stars": 5}, "stars"),
                        ({}, "rating")):
        bad = await app_client.post(url, headers=_caller(who), json=body)
        assert bad.status_code == 400 and param in bad.text, bad.text
    stranger = await _token(app_client)
    hidden = await app_client.post(url, headers=_caller(stranger), json={"rating": -1})
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "response_not_found"


async def test_the_window_pages_filters_and_is_for_administrators(
        app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    for question in ("Compute 1+1", "Compute 2+2", "Compute 3+3"):
        await app_client.post("/v1/chat/completions", headers=_caller(who), json={
            "model": "lukhas-matriz", "messages": [{"role": "user", "content": question}]})
    every = await _events(app_client, who["subject"], 3, kind="reflection")
    first = (await app_client.get("/v1/admin/events", params={
        "subject": who["subject"], "kind": "reflection", "limit": 2})).json()
    assert first["has_more"] is True and [e["id"] for e in first["data"]] == [
        e["id"] for e in every[:2]]
    rest = (await app_client.get("/v1/admin/events", params={
        "subject": who["subject"], "kind": "reflection", "after": first["last_id"]})).json()
    assert [e["id"] for e in rest["data"]] == [every[2]["id"]] and rest["has_more"] is False
    future = (await app_client.get("/v1/admin/events", params={
        "subject": who["subject"], "since": 4_000_000_000})).json()
    assert future["data"] == []
    for params, param in (({"kind": "dreams"}, "kind"), ({"after": "12"}, "after"),
                          ({"limit": 0}, "limit"), ({"colour": "teal"}, "colour")):
        bad = await app_client.get("/v1/admin/events", params=params)
        assert bad.status_code == 400 and param in bad.text, bad.text
    denied = await app_client.get("/v1/admin/events", headers=_caller(who))
    assert denied.status_code == 403


async def test_erasure_removes_a_subjects_events(app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    await app_client.post("/v1/responses", headers=_caller(who), json={
        "model": "lukhas-matriz", "input": "I live in Paris."})
    await _events(app_client, who["subject"], 4)
    erased = await app_client.delete("/v1/identity/me/memory", headers=_caller(who))
    assert erased.status_code == 200 and erased.json()["events"] >= 4
    page = (await app_client.get("/v1/admin/events",
                                 params={"subject": who["subject"]})).json()
    assert page["data"] == []


async def test_the_log_is_append_only(pg_url: str, app_client: httpx.AsyncClient) -> None:
    who = await _token(app_client)
    await app_client.post("/v1/chat/completions", headers=_caller(who), json={
        "model": "lukhas-matriz", "messages": [{"role": "user", "content": "Compute 9*9"}]})
    await _events(app_client, who["subject"], 1)
    conn = await asyncpg.connect(pg_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE experience_events SET kind = 'reward'"
                               " WHERE subject = $1", who["subject"])
    finally:
        await conn.close()


async def test_awareness_starts_from_the_log_after_a_restart(pg_url: str,
                                                             tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        for _ in range(3):
            await client.post("/v1/chat/completions", json={
                "model": "lukhas-matriz",
                "messages": [{"role": "user", "content": "Who won the 1930 World Cup?"}]})
    # Closed: the last events were written at shutdown. A new process starts warm.
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        metrics = (await client.get("/metrics")).text
    latency = [line for line in metrics.splitlines()
               if line.startswith("lukhas_matriz_awareness_latency_ema_seconds{")]
    assert latency and float(latency[0].rsplit(" ", 1)[1]) > 0


def test_replay_folds_reflections_into_the_averages() -> None:
    from prometheus_client import CollectorRegistry

    engine = AwarenessEngine(Metrics(CollectorRegistry()), "candidate")
    engine.replay([{"data": {"node": "unknown", "seconds": 0.01}}] * 50)
    assert engine.latency_ema == pytest.approx(0.01)
    assert engine.unknown_ema > 0.9
