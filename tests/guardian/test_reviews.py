"""The semantic rules that only log review texts after the request went on: a text a fast
rule flagged always, a clean one on the lane's `review_sample`; what they find joins the
audit chain, marked as a review."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.utils.app import running_app
from tests.utils.lanes import lanes_file

KEY = "lk-test-reviews-0123456789abcdef"
CLEAN_BUT_HURTFUL = "you're so stupid it's embarrassing to talk to you"  # no fast rule: semantic
FLAGGED = "you are a worthless idiot and everyone hates you"  # the insult pattern finds it


async def _reviews(client: httpx.AsyncClient, since: list[dict[str, Any]] | None = None
                   ) -> list[dict[str, Any]]:
    """The review entries of the audit chain (those not in `since`: the database is shared
    with the other tests)."""
    enforcement = client.app.state.lukhas.enforcement  # type: ignore[attr-defined]
    while enforcement._reviews:  # the reviews under way, to their end
        await asyncio.gather(*list(enforcement._reviews), return_exceptions=True)
    resp = await client.get("/v1/admin/audit", params={"action": "guardian.input.log",
                                                         "limit": 100})
    assert resp.status_code == 200, resp.text
    seen = {e["hash"] for e in since or []}
    return [e for e in resp.json()["data"] if e["details"].get("review") and e["hash"] not in seen]


async def _ask(client: httpx.AsyncClient, text: str) -> None:
    resp = await client.post("/v1/responses", json={"model": "lukhas-matriz", "input": text,
                                                    "store": False})
    assert resp.status_code == 200, resp.text


async def test_every_clean_text_is_reviewed_at_a_sample_of_one(pg_url: str,
                                                              tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY, api_keys=KEY, api_key_tier="T3",
                           guardian_lanes_file=lanes_file(tmp_path, review_sample=1.0)) as client:
        before = await _reviews(client)
        await _ask(client, CLEAN_BUT_HURTFUL)
        [review] = await _reviews(client, before)
        reasons = review["details"]["decision"]["reasons"]
        assert {r["category"] for r in reasons} >= {"harassment"}
        assert {r["detector"] for r in reasons} == {"semantic"}


async def test_a_sample_of_zero_reviews_only_what_a_fast_rule_flagged(pg_url: str,
                                                                     tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY, api_keys=KEY, api_key_tier="T3",
                           guardian_lanes_file=lanes_file(tmp_path, review_sample=0.0)) as client:
        before = await _reviews(client)
        for _ in range(5):
            await _ask(client, CLEAN_BUT_HURTFUL)
        assert await _reviews(client, before) == []
        await _ask(client, FLAGGED)
        [review] = await _reviews(client, before)
        assert review["details"]["param"] == "input"


async def test_sampled_reviews_keep_to_the_lanes_share_of_a_core(pg_url: str,
                                                                 tmp_path: Path) -> None:
    # Every clean text sampled, but a thousandth of a core for their reviews: the first one's
    # time (milliseconds of embedding) is owed for seconds, and the next clean texts are
    # skipped meanwhile, counted; a flagged text is reviewed regardless.
    lanes = lanes_file(tmp_path, review_sample=1.0, review_cpu_share=0.001)
    async with running_app(pg_url, tmp_path, key=KEY, api_keys=KEY, api_key_tier="T3",
                           guardian_lanes_file=lanes) as client:
        enforcement = client.app.state.lukhas.enforcement  # type: ignore[attr-defined]
        skipped = enforcement.metrics.reviews_skipped.labels(enforcement.lane, "input")
        before = await _reviews(client)
        await _ask(client, CLEAN_BUT_HURTFUL)
        assert len(await _reviews(client, before)) == 1
        for _ in range(3):
            await _ask(client, CLEAN_BUT_HURTFUL)
        assert len(await _reviews(client, before)) == 1
        assert skipped._value.get() >= 3
        await _ask(client, FLAGGED)
        assert len(await _reviews(client, before)) == 2


async def test_reviews_started_together_keep_to_the_share(pg_url: str, tmp_path: Path) -> None:
    # Clean texts arriving together: each review is charged what a review is expected to take
    # as it is admitted, so the first one's charge holds the others back before it has ended
    # (charged only at their end, all of them would start at once).
    lanes = lanes_file(tmp_path, review_sample=1.0, review_cpu_share=0.02)
    async with running_app(pg_url, tmp_path, key=KEY, api_keys=KEY, api_key_tier="T3",
                           guardian_lanes_file=lanes) as client:
        before = await _reviews(client)
        await asyncio.gather(*(_ask(client, CLEAN_BUT_HURTFUL) for _ in range(4)))
        assert len(await _reviews(client, before)) == 1
