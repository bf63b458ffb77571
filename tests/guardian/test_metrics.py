"""The Guardian's findings in /metrics: every reason of a decision other than a plain allow is
counted by direction, category and action (a request refused, a document redacted, an answer
redacted, a semantic review after the request), and no label carries a rule's name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from app.guardian.decision import ACTIONS, CATEGORIES
from tests.guardian.test_enforcement import INJECTED_DOCUMENT, INJECTION
from tests.utils.lanes import lanes_file
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, Routed, routed_app, routing

KEY = "sk-proj-" + "Zq8xW3vN5tR7yL2k" * 2
FINDINGS = "lukhas_guardian_findings_total"
DIRECTIONS = {"input", "output", "input_review", "output_review"}


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-guardian-upstream-key")
    yield


def _findings(registry: CollectorRegistry) -> dict[tuple[str, str, str, str], float]:
    """Every findings series: (lane, direction, category, action) → count."""
    return {(s.labels["lane"], s.labels["direction"], s.labels["category"],
             s.labels["action"]): s.value
            for family in registry.collect() if family.name == FINDINGS.removesuffix("_total")
            for s in family.samples if s.name == FINDINGS}


def _new(before: dict[tuple[str, str, str, str], float],
         after: dict[tuple[str, str, str, str], float]) -> dict[tuple[str, str, str, str], float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


async def _audited_reasons(app: Routed, action: str,
                           resp: httpx.Response) -> list[dict[str, Any]]:
    """The reasons of the decision the audit chain holds for `resp`'s request."""
    listed = await app.http.get("/v1/admin/audit", params={"action": action, "limit": 100})
    assert listed.status_code == 200, listed.text
    request_id = resp.headers["x-request-id"]
    [decision] = [e["details"]["decision"] for e in listed.json()["data"]
                  if e["details"]["decision"]["correlation_id"] == request_id]
    reasons: list[dict[str, Any]] = decision["reasons"]
    return reasons


async def test_each_reason_is_counted_by_direction_category_and_action(
        pg_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    up = mock_upstream_factory(api_key="sk-guardian-upstream-key")
    up.behave("reply", reply=f"Sure. Your key is {KEY}; keep it out of your code.",
              times=None)
    async with routed_app(pg_url, tmp_path, routing(up.url)) as app:
        registry = app.state.metrics.registry
        start = _findings(registry)
        allowed = await app.http.post("/v1/responses", json={
            "model": "lukhas-matriz", "input": "What is the capital of France?"})
        assert allowed.status_code == 200, allowed.text
        assert _new(start, _findings(registry)) == {}  # a plain allow finds nothing

        # Blocked: an injection, in a text that also names an e-mail address (logged).
        before = _findings(registry)
        refused = await app.http.post("/v1/responses", json={
            "model": "gpt-test", "input": f"Write to bob@example.com. {INJECTION}"})
        assert refused.status_code == 400
        found = _new(before, _findings(registry))
        assert found[("dev", "input", "prompt_injection", "block")] >= 1
        assert found[("dev", "input", "pii", "log")] == 1
        assert {k[2] for k in found} == {"prompt_injection", "pii"}

        # Redacted: an injection inside a document (a tool's output) the request carries.
        before = _findings(registry)
        ok = await app.http.post("/v1/chat/completions", json=INJECTED_DOCUMENT)
        assert ok.status_code == 200, ok.text
        assert "Ignore all previous" not in up.last()["body"]["messages"][2]["content"]
        found = _new(before, _findings(registry))
        # As many as the audited decision has reasons (two of the rule's patterns matched).
        reasons = await _audited_reasons(app, "guardian.input.redact", ok)
        assert found[("dev", "input", "prompt_injection", "redact")] == len(reasons) >= 1
        # The answer named a key: redacted on the way out, counted as an output finding.
        assert found[("dev", "output", "secrets", "redact")] == 1
        assert KEY not in ok.json()["choices"][0]["message"]["content"]

        exported = (await app.http.get("/metrics")).text
        assert ('lukhas_guardian_findings_total{action="redact",category="secrets",'
                'direction="output",lane="dev"} 1.0') in exported
        for lane, direction, category, action in _findings(registry):
            assert lane == "dev" and direction in DIRECTIONS
            assert category in CATEGORIES and action in ACTIONS
        assert "injection.input" not in exported and "secrets.output" not in exported


def _semantic_policy(tmp_path: Path) -> Path:
    """A policy with one semantic rule that only logs (so it runs after the request, as a
    review) on the hashing model every test app serves."""
    directory = tmp_path / "semantic-policy"
    directory.mkdir()
    (directory / "policy.yaml").write_text(
        "policy: {name: test-guardian, embedding_model: lukhas-hash-v1}\n")
    (directory / "weather.yaml").write_text(
        "rules:\n  - name: test.weather\n    direction: [input]\n    kinds: [text]\n"
        "    category: policy\n    detector: semantic\n    threshold: 0.5\n    action: log\n"
        "    examples: [what is the weather forecast for tomorrow, will it rain tomorrow]\n")
    return directory


async def test_a_semantic_review_counts_what_it_found(
        pg_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    up = mock_upstream_factory(api_key="sk-guardian-upstream-key")
    async with routed_app(pg_url, tmp_path, routing(up.url),
                          guardian_policy_dir=_semantic_policy(tmp_path),
                          # every clean text reviewed, not the lane's sample
                          guardian_lanes_file=lanes_file(tmp_path, review_sample=1.0)) as app:
        registry = app.state.metrics.registry
        series = ("dev", "input_review", "policy", "log")
        resp = await app.http.post("/v1/responses", json={
            "model": "gpt-test", "input": "What is the weather forecast for tomorrow?"})
        assert resp.status_code == 200, resp.text  # a rule that logs never holds it up
        for _ in range(200):  # the review runs after the request went on
            if _findings(registry).get(series):
                break
            await asyncio.sleep(0.02)
        assert _findings(registry)[series] == 1
        assert registry.get_sample_value("lukhas_guardian_decisions_total", {
            "lane": "dev", "direction": "input_review", "action": "log"}) == 1
        far = await app.http.post("/v1/responses", json={
            "model": "gpt-test", "input": "Compile the kernel with clang."})
        assert far.status_code == 200
        await asyncio.sleep(0.3)
        assert _findings(registry) == {series: 1.0}
