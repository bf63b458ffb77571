"""The Guardian applies every rule that fits the text's direction and kind."""

from __future__ import annotations

import pytest

from app.embeddings.registry import EmbeddingRegistry
from app.guardian.compiled import Policy, compile_policy
from app.guardian.detectors.semantic import PIECE_CHARS, SemanticIndex, pieces
from app.guardian.engine import DetectorError, Guardian
from app.guardian.reload import load_policy

SEMANTIC = b"""
policy: {name: test-guardian, embedding_model: lukhas-hash-v1}
rules:
  - name: weather
    direction: [input]
    kinds: [text]
    category: policy
    detector: semantic
    threshold: 0.5
    action: log
    examples: [what is the weather forecast for tomorrow, will it rain tomorrow]
  - name: forbidden
    direction: [input, output]
    category: policy
    detector: pattern
    patterns: ['\\bforbidden\\b']
    action: block
  - name: slow
    direction: [output]
    kinds: [text]
    category: policy
    detector: pattern
    patterns: ['(x+x+)+y']
    action: log
"""



def _policy() -> Policy:
    return compile_policy([("a.yaml", SEMANTIC)], ["lukhas-hash-v1"])


async def test_semantic_rules_fire_near_their_examples(registry: EmbeddingRegistry) -> None:
    guardian = Guardian(_policy(), SemanticIndex(registry))
    filler = "The committee reviewed the budget and approved the minutes. " * 8
    text = filler + "What is the weather forecast for tomorrow in Paris?"
    near = await guardian.scan(text, direction="input")
    [reason] = near.reasons
    assert (reason.rule, reason.detector, reason.action) == ("weather", "semantic", "log")
    # The span is the piece (a few sentences) nearest the examples, not the whole text.
    assert reason.start > 0 and reason.end == len(text)
    assert text[reason.start:reason.end].endswith("weather forecast for tomorrow in Paris?")
    assert near.action == "log" and near.scores["policy"] >= 0.5
    far = await guardian.scan("Compile the kernel with clang.", direction="input")
    assert far.action == "allow" and far.scores["policy"] < 0.5
    assert far.policy == _policy().label


async def test_rules_apply_by_direction_and_kind(registry: EmbeddingRegistry) -> None:
    guardian = Guardian(_policy(), SemanticIndex(registry))
    text = "is the weather forecast for tomorrow forbidden?"
    assert {r.rule for r in (await guardian.scan(text, direction="input")).reasons} == {
        "weather", "forbidden"}
    assert {r.rule for r in (await guardian.scan(text, direction="input",
                                                 kind="document")).reasons} == {"forbidden"}
    fast = guardian.scan_fast(text, direction="input")
    assert fast.action == "block" and [r.rule for r in fast.reasons] == ["forbidden"]


async def test_a_failing_detector_raises_naming_itself(registry: EmbeddingRegistry) -> None:
    guardian = Guardian(_policy(), None)
    with pytest.raises(DetectorError) as caught:
        await guardian.scan("will it rain", direction="input")
    assert (caught.value.rule, caught.value.detector) == ("weather", "semantic")
    with pytest.raises(DetectorError) as slow:
        # over the pattern's time budget (its `y` is there, so the screen lets it run)
        guardian.scan_fast("y " + "x" * 5000, direction="output")
    assert (slow.value.rule, slow.value.detector) == ("slow", "pattern")


def test_redaction_replaces_spans_and_merges_overlaps() -> None:
    guardian = Guardian(load_policy(), None)
    text = "key sk-proj-Q7x9Lm2Vb8Rt4Kp6Zw1Nc3 and IBAN GB82 WEST 1234 5698 7654 32."
    decision = guardian.scan_fast(text, direction="output")
    assert decision.action == "redact"
    assert decision.redact(text) == ("key [redacted] and IBAN [pii].", 2)
    # Text before `since` has been sent: it is left alone.
    since = text.index(" and")
    assert decision.redact(text, since=since) == (text[:since] + " and IBAN [pii].", 1)


def test_block_spans_redact_too_and_the_strongest_action_wins() -> None:
    guardian = Guardian(load_policy(), None)
    text = "mail a@b.io -----BEGIN EC PRIVATE KEY----- xyz"
    decision = guardian.scan_fast(text, direction="output")
    assert decision.blocked and {r.action for r in decision.reasons} == {"log", "block"}
    assert "PRIVATE KEY" not in decision.redact(text)[0]


def test_pieces_cut_long_text_at_sentences() -> None:
    text = ("One sentence here. " * 40) + "x" * (PIECE_CHARS + 50)
    spans = pieces(text)
    assert all(e - s <= PIECE_CHARS for s, e in spans)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")
    assert all(text[s:e].startswith("One") for s, e in spans[:2])
    assert pieces("") == [] and pieces("short") == [(0, 5)]
