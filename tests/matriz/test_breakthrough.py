"""Breakthrough detection: novelty against the caller's own centroid times value, flagged at
a running z-score of 3."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry

from app.embeddings.hashing import HashingEmbedder
from app.matriz.breakthrough import BreakthroughDetector
from app.observability.metrics import Metrics

EMBED = HashingEmbedder(256)


def _vector(text: str) -> np.ndarray:
    return np.asarray(EMBED.embed([text])[0], dtype=np.float32)


def _routine(detector: BreakthroughDetector, subject: str, n: int) -> None:
    for i in range(n):
        detector.observe(subject, _vector(f"The total of the invoice is {i} euros."), 1.0)


def test_a_new_and_valuable_answer_is_flagged() -> None:
    registry = CollectorRegistry()
    detector = BreakthroughDetector(Metrics(registry), "candidate")
    _routine(detector, "ada", 60)
    assert not detector.flags
    flag = detector.observe("ada", _vector("Penguins navigate by the polarisation of light."),
                            1.0, ref="resp_1")
    assert flag is not None and flag.z >= 3 and flag.ref == "resp_1"
    assert registry.get_sample_value("lukhas_breakthrough_flags_total",
                                     {"lane": "candidate", "kind": "answer"}) == 1.0


def test_new_but_worthless_is_not_a_breakthrough() -> None:
    detector = BreakthroughDetector(Metrics(CollectorRegistry()), "candidate")
    _routine(detector, "ada", 60)
    novel = _vector("Penguins navigate by the polarisation of light.")
    assert detector.observe("ada", novel, 0.0) is None


def test_novelty_is_against_the_callers_own_centroid() -> None:
    detector = BreakthroughDetector(Metrics(CollectorRegistry()), "candidate")
    _routine(detector, "ada", 40)
    for i in range(40):  # grace's routine is ada's novelty
        detector.observe("grace", _vector(f"Penguins navigate by light, day {i}."), 1.0)
    assert detector.observe("grace", _vector("Penguins navigate by light, day 99."),
                            1.0) is None
    assert detector.state()["scores"] > 70


def test_a_first_answer_has_nothing_to_be_new_against() -> None:
    detector = BreakthroughDetector(Metrics(CollectorRegistry()), "candidate", min_scores=0)
    assert detector.observe("new", _vector("Anything at all."), 1.0) is None
    assert detector.n == 0
