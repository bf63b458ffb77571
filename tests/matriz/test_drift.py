"""DriftScore v2 and coherence on the tick: the averages, the hold in enforced lanes shared
through the key-value store, clearing by an administrator, and the replay after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from app.embeddings.hashing import HashingEmbedder
from app.kv.memory import MemoryStore
from app.matriz.drift import DriftBlocked, DriftEngine, DriftLimits, satisfaction
from app.matriz.tick import CognitiveEvent
from app.observability.metrics import Metrics
from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.lanes import lanes_file

ON_TOPIC = ("What is the boiling point of water?", "The boiling point of water is 100 °C.")
OFF_TOPIC = ("What is the boiling point of water?", "Penguins huddle together in winter.")


def _engine(lane: str, store: MemoryStore | None = None, **limits: float) -> DriftEngine:
    return DriftEngine(HashingEmbedder(256), Metrics(CollectorRegistry()), lane,
                       DriftLimits(**limits), store=store)  # type: ignore[arg-type]


def _turns(pair: tuple[str, str], n: int, model: str = "m") -> list[CognitiveEvent]:
    return [CognitiveEvent("turn", "x", 0.01, model, pair[0], pair[1])] * n


def test_answers_on_topic_drift_less_than_answers_off_it() -> None:
    on, off = _engine("candidate"), _engine("candidate")
    on(_turns(ON_TOPIC, 20))
    off(_turns(OFF_TOPIC, 20))
    assert on.ema is not None and off.ema is not None
    assert on.ema < off.ema and off.ema > 0.8
    assert on.state()["coherence"] > off.state()["coherence"]


def test_a_model_is_held_only_in_an_enforced_lane_when_it_rises_above_its_baseline(
) -> None:
    advisory = _engine("candidate", min_samples=10, per_tick=100)
    advisory(_turns(ON_TOPIC, 10))
    advisory(_turns(OFF_TOPIC, 40))
    advisory.check("m")  # candidate: logged, never held
    steady = _engine("integration", min_samples=10, per_tick=100)
    steady(_turns(OFF_TOPIC, 60))  # always far from its questions: that is its baseline
    steady.check("m")
    assert steady.state()["models"][0]["baseline"] > 0.8
    enforced = _engine("integration", min_samples=10, per_tick=100)
    enforced(_turns(ON_TOPIC, 10))
    enforced.check("m")
    enforced(_turns(OFF_TOPIC, 40))
    with pytest.raises(DriftBlocked, match="drifted"):
        enforced.check("m")
    enforced.check("another")  # only the model that drifted


async def test_a_hold_reaches_every_replica_and_so_does_its_clearing() -> None:
    shared = MemoryStore()
    one = _engine("production", shared, min_samples=5, per_tick=100)
    two = _engine("production", shared, min_samples=5, per_tick=100)
    two(_turns(ON_TOPIC, 1))  # replica two has seen the model, on topic
    one(_turns(ON_TOPIC, 5))
    one(_turns(OFF_TOPIC, 40))
    await asyncio.sleep(0)  # the hold's write
    await two.sync()
    assert two.blocked("m")
    assert await two.clear("m") is True
    await one.sync()
    assert not one.blocked("m")


def test_constraint_satisfaction_weights() -> None:
    assert satisfaction("stop", True) == 1.0 and satisfaction("length", None) == 0.5
    assert satisfaction("content_filter", None) == 0.0 and satisfaction("stop", False) == 0.0


async def test_held_model_refused_then_cleared_over_http(pg_url: str, tmp_path: Path) -> None:
    lanes = lanes_file(tmp_path, "integration", drift={"warn": 0.01, "block": 0.02})
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, lane="integration",
                           lid_keys='{"k1": "drift-test-signing-key-0123456789abcdef"}',
                           guardian_lanes_file=lanes, tick_hz=200) as client:
        def chat(question: str) -> dict[str, object]:
            return {"model": "lukhas-matriz",
                    "messages": [{"role": "user", "content": question}]}

        for _ in range(60):  # the baseline: questions answered on topic
            on = await client.post("/v1/chat/completions",
                                   json=chat("The launch is at dawn. When is the launch?"))
            assert on.status_code == 200, on.text
            await asyncio.sleep(0.005)
        refused = None
        for _ in range(200):  # then answers far from their questions
            resp = await client.post("/v1/chat/completions",
                                     json=chat("Who painted the Mona Lisa?"))
            if resp.status_code == 503:
                refused = resp
                break
            assert resp.status_code == 200, resp.text
            await asyncio.sleep(0.005)  # let the tick fold the answers
        assert refused is not None, "never held"
        error = refused.json()["error"]
        assert error["code"] == "model_blocked_for_drift" and error["param"] == "model"
        assert refused.headers["x-should-retry"] == "false"
        state = (await client.get("/v1/admin/drift")).json()
        assert state["enforced"] is True and state["models"][0]["blocked"] is True
        metrics = (await client.get("/metrics")).text
        assert 'lukhas_drift_blocked{lane="integration",model="lukhas-matriz"} 1.0' in metrics
        assert 'lukhas_coherence{lane="integration"}' in metrics
        bad = await client.post("/v1/admin/drift/clear", json={"model": "x", "why": "y"})
        assert bad.status_code == 400 and "why" in bad.text
        cleared = await client.post("/v1/admin/drift/clear", json={"model": "lukhas-matriz"})
        assert cleared.status_code == 200 and cleared.json()["models"] == []
        again = await client.post("/v1/chat/completions",
                                  json=chat("Who painted the Mona Lisa?"))
        assert again.status_code == 200


async def test_drift_starts_from_the_log_after_a_restart(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        for _ in range(3):
            await client.post("/v1/chat/completions", json={
                "model": "lukhas-matriz",
                "messages": [{"role": "user", "content": "Compute 12*12"}]})
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        state = (await client.get("/v1/admin/drift")).json()
    assert state["ema"] is not None and state["coherence"] is not None
    assert any(m["model"] == "lukhas-matriz" and m["samples"] > 0 for m in state["models"])
