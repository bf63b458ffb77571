"""A dream with a routed model: the upstream (a real mock server) writes the scenarios from
the recalled memories, numbered, and cites them; the rest of the dream is the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.utils.dreams import remember, subject_of, wait_ended
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing

KEY = "sk-dream-upstream-key"
SAID = ["Anna lives in Lisbon and loves the sea.", "Anna is learning to sail in Lisbon."]


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, KEY)
    yield


async def test_the_routed_model_writes_scenarios_citing_the_memories(
        fresh_db_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(api_key=KEY)
    upstream.behave("reply", reply=(
        "1. What if Anna sailed from Lisbon to the open sea? [1][2]\n"
        "A line without a citation is no scenario.\n"
        "- What if Anna taught sailing? [2] [9]\n"
        "What if the sea came to Anna? [1]"))
    async with routed_app(fresh_db_url, tmp_path, routing(upstream.url)) as app:
        await remember(app.state, await subject_of(app.state, app.key), SAID)
        created = await app.http.post("/v1/dreams", json={
            "model": "gpt-test", "seed": "Anna at sea", "constraints": {
                "max_scenarios": 2, "must_exclude": ["storm"]}})
        assert created.status_code == 200, created.text
        done = await wait_ended(app.http, created.json()["id"])
        assert done["status"] == "completed", done
        recalled = {m for m in SAID}
        sent = upstream.last()["body"]
        assert sent["model"] == "mock-gpt"
        prompt = sent["messages"][-1]["content"]
        assert "Seed: Anna at sea" in prompt and "at most 2 scenarios" in prompt
        assert '"storm"' in prompt and all(text in prompt for text in recalled)
        scenarios = done["scenarios"]
        assert [s["text"] for s in scenarios] == [
            "What if Anna sailed from Lisbon to the open sea? [1][2]",
            "What if Anna taught sailing? [2] [9]"]
        assert len(scenarios[0]["cites"]) == 2 and len(scenarios[1]["cites"]) == 1
        assert all(s["verdict"] in ("accepted", "rejected") for s in scenarios)


async def test_an_upstream_failure_fails_the_dream_with_its_reason(
        fresh_db_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(api_key=KEY)
    upstream.behave("bad_request", times=None, message="no dreams today")
    async with routed_app(fresh_db_url, tmp_path, routing(upstream.url)) as app:
        await remember(app.state, await subject_of(app.state, app.key), SAID)
        created = await app.http.post("/v1/dreams", json={"model": "gpt-test", "seed": "x"})
        done = await wait_ended(app.http, created.json()["id"])
        assert done["status"] == "failed" and done["reason"]["code"] == "error"
        assert done["reason"]["message"]
        # With no memories there is nothing to give the model: it is not called.
        before = len(upstream.requests("/v1/chat/completions"))
        fresh = (await app.http.post("/v1/identity/tokens", json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
        empty = await app.http.post("/v1/dreams", headers={"Authorization": f"Bearer {fresh}"},
                                    json={"model": "gpt-test", "seed": "x"})
        assert empty.status_code == 200, empty.text
        quiet = await wait_ended(app.http, empty.json()["id"],
                                 headers={"Authorization": f"Bearer {fresh}"})
        assert quiet["status"] == "completed" and quiet["scenarios"] == []
        assert len(upstream.requests("/v1/chat/completions")) == before


async def test_cancelling_stops_a_dream_waiting_on_its_model(
        fresh_db_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(api_key=KEY)
    upstream.behave("hang", times=1)
    config = routing(upstream.url)
    config["upstreams"]["a"]["timeouts"]["read_seconds"] = 60
    async with routed_app(fresh_db_url, tmp_path, config, dream_lease_seconds=1.5,
                          dream_workers=1) as app:
        await remember(app.state, await subject_of(app.state, app.key), SAID)
        dream_id = (await app.http.post("/v1/dreams", json={
            "model": "gpt-test", "seed": "x"})).json()["id"]
        for _ in range(400):
            if upstream.requests("/v1/chat/completions"):
                break
            await asyncio.sleep(0.025)
        cancelled = await app.http.post(f"/v1/dreams/{dream_id}/cancel")
        assert cancelled.json()["status"] == "cancelled"
        # The worker notices at its next renewal (every 0.5 s) and is free for the next one.
        after = await app.http.post("/v1/dreams", json={"model": "lukhas-matriz", "seed": "x"})
        done = await wait_ended(app.http, after.json()["id"], seconds=10)
        assert done["status"] == "completed"
        got = await app.http.get(f"/v1/dreams/{dream_id}", params={"stream": "true"})
        assert got.text.rstrip().split("\n\n")[-1].startswith("event: dream.cancelled")
