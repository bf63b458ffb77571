"""A dream's scenarios meet the breakthrough detector: one new for its caller (far from the
centroid of their recent answers) and supported is flagged on the dream's trace and summary."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np

from tests.api.dreams.test_dreams_api import (
    MEMORIES,
    dream,
    ended,
    new_caller,
    state_of,
    trace,
)
from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.dreams import remember


async def test_a_new_and_supported_scenario_is_flagged_on_the_dream(
        fresh_db_url: str, tmp_path: Path) -> None:
    # A database of its own: no other process's dream runner may take this dream, whose
    # detector would not know the caller's answers.
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        await _flagged(client)


async def _flagged(app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    state = state_of(app_client)
    await remember(state, subject, MEMORIES)
    detector = state.drift.breakthroughs
    assert detector is not None
    embed = state.embedding_models.get(state.settings.memory_embedding_model).embed
    # The caller's recent answers, all alike: the centroid a scenario is new against.
    routine = await embed([f"The invoice total is {i} euros." for i in range(60)])
    for vector in routine:
        detector.observe(subject, np.asarray(vector, np.float32), 1.0)
    flagged_before = detector.state()["scores"]
    made = await dream(app_client, headers, seed="a summer in Lisbon")
    done = await ended(app_client, headers, made["id"])
    assert done["status"] == "completed"
    marks = [e["data"]["breakthrough"] for e in await trace(app_client, headers, made["id"])
             if e["type"] == "dream.breakthrough"]
    accepted = {s["id"] for s in done["scenarios"] if s["verdict"] == "accepted"}
    assert marks and {m["scenario"] for m in marks} <= accepted
    assert all(m["z"] >= 3 and m["value"] > 0 for m in marks)
    assert done["summary"]["breakthroughs"] == len(marks)
    assert detector.state()["scores"] > flagged_before
    metrics = (await app_client.get("/metrics")).text
    assert 'lukhas_breakthrough_flags_total{kind="scenario",lane="dev"}' in metrics


async def test_a_caller_without_answers_has_no_breakthroughs(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    await remember(state_of(app_client), subject, MEMORIES)
    made = await dream(app_client, headers, seed="a summer in Lisbon")
    done = await ended(app_client, headers, made["id"])
    assert done["summary"]["breakthroughs"] == 0
