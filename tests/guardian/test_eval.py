"""The default policy on the labelled set: a floor, not a target (bench/guardian_eval.py
prints the figures). A category with few examples is not held to a floor."""

from __future__ import annotations

from tests.guardian.evaluation import default_guardian, evaluate, load_examples, table

MIN_POSITIVES = 5
PRECISION_FLOOR = 0.6
RECALL_FLOOR = 0.4
NEGATIVES_FLAGGED_CEILING = 0.15


def test_the_set_is_large_and_spread() -> None:
    examples = load_examples()
    assert len(examples) >= 200
    negatives = [e for e in examples if not e.labels]
    assert len(negatives) >= 50
    labelled = {c for e in examples for c in e.labels}
    assert len(labelled) >= 16


async def test_precision_and_recall_stay_above_a_floor() -> None:
    async with default_guardian() as guardian:
        report = await evaluate(guardian, load_examples())
    summary = table(report)
    for category, score in report.by_category.items():
        if score.tp + score.fn < MIN_POSITIVES:
            continue
        assert score.recall is not None and score.recall >= RECALL_FLOOR, (category, summary)
        assert score.precision is not None and score.precision >= PRECISION_FLOOR, (
            category, summary)
    assert len(report.negatives_flagged) <= NEGATIVES_FLAGGED_CEILING * report.negatives, (
        report.negatives_flagged)
