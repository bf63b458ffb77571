"""The Guardian's say on changes to memory: pattern rules always, semantic ones when they
could refuse, and a failing detector refuses (fail closed)."""

from __future__ import annotations

from app.embeddings.registry import EmbeddingRegistry
from app.guardian.compiled import compile_policy
from app.guardian.detectors.semantic import SemanticIndex
from app.guardian.engine import Guardian
from app.guardian.memory_guard import MemoryChange, PolicyGuard

POLICY = """
policy: {name: memory-guard, embedding_model: lukhas-hash-v1}
rules:
  - name: weather
    direction: [output]
    kinds: [text]
    category: policy
    detector: semantic
    threshold: 0.5
    action: ACTION
    examples: [what is the weather forecast for tomorrow, will it rain tomorrow]
  - name: forbidden
    direction: [output]
    category: policy
    detector: pattern
    patterns: ['\\bforbidden\\b']
    action: block
"""

WEATHER = "What is the weather forecast for tomorrow in Paris?"



def _guard(action: str, semantic: SemanticIndex | None) -> PolicyGuard:
    policy = compile_policy([("m.yaml", POLICY.replace("ACTION", action).encode())],
                            ["lukhas-hash-v1"])
    return PolicyGuard(Guardian(policy, semantic))


def _change(*texts: str) -> MemoryChange:
    return MemoryChange("lid#ada", "fold", ["mem_1", "mem_2"], list(texts), "sleep")


async def test_pattern_rules_refuse_a_change(registry: EmbeddingRegistry) -> None:
    verdict = await _guard("log", SemanticIndex(registry)).review(
        _change("I like tea.", "This is forbidden."))
    assert not verdict.allowed and "blocks" in (verdict.reason or "")
    assert (await _guard("log", SemanticIndex(registry)).review(_change("I like tea."))).allowed


async def test_a_blocking_semantic_rule_refuses_a_change(registry: EmbeddingRegistry) -> None:
    guard = _guard("block", SemanticIndex(registry))
    refused = await guard.review(_change("I like tea.", WEATHER))
    assert not refused.allowed and "policy" in (refused.reason or "")
    assert (await guard.review(_change("Compile the kernel with clang."))).allowed


async def test_a_semantic_rule_that_only_logs_is_not_run() -> None:
    # No embedding index at all: a log-only semantic rule cannot refuse, so it is not asked.
    assert (await _guard("log", None).review(_change(WEATHER))).allowed


async def test_a_failing_semantic_detector_refuses_the_change() -> None:
    verdict = await _guard("block", None).review(_change("I like tea."))
    assert not verdict.allowed and "could not review" in (verdict.reason or "")
