"""Precision and recall of the default policy on the labelled set in data/moderation_eval.jsonl.

Each line is a short text and the categories it belongs to (none for a negative; the most
specific ones, the parents follow: `violence/graphic` counts for violence too). A text is
judged as `/v1/moderations` judges it (every input rule, semantic ones included), and a
category is predicted when the moderation result flags it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from app.api.moderations.service import moderation_result
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.minilm import MiniLMEmbedder
from app.embeddings.registry import EmbeddingRegistry
from app.guardian.decision import CATEGORIES
from app.guardian.detectors.semantic import SemanticIndex
from app.guardian.engine import Guardian
from app.guardian.reload import load_policy
from app.observability.metrics import Metrics

DATA = Path(__file__).parent / "data" / "moderation_eval.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: frozenset[str]


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass(slots=True)
class Report:
    by_category: dict[str, Score] = field(default_factory=dict)
    negatives: int = 0
    negatives_flagged: list[str] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)  # (category, text)
    wrong: list[tuple[str, str]] = field(default_factory=list)


def load_examples(path: Path = DATA) -> list[Example]:
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            labels = set(row["labels"])
            labels |= {c.split("/")[0] for c in labels}
            unknown = labels - set(CATEGORIES)
            if unknown:
                raise ValueError(f"unknown categories {sorted(unknown)} in {row['text']!r}")
            out.append(Example(row["text"], frozenset(labels)))
    return out


@asynccontextmanager
async def default_guardian() -> AsyncIterator[Guardian]:
    """The default policy with the embedding models the service serves."""
    registry = EmbeddingRegistry([MiniLMEmbedder(), HashingEmbedder(384)],
                                 Metrics(CollectorRegistry()), max_batch=32, max_wait_s=0.002)
    semantic = SemanticIndex(registry)
    try:
        yield Guardian(load_policy(embedding_models=semantic.models()), semantic)
    finally:
        await registry.close()


async def evaluate(guardian: Guardian, examples: Sequence[Example]) -> Report:
    report = Report(by_category={c: Score() for c in CATEGORIES})
    for example in examples:
        decision = await guardian.scan(example.text, direction="input")
        result = moderation_result(decision)
        predicted = {c for c, flagged in result["categories"].items() if flagged}
        if not example.labels:
            report.negatives += 1
            if predicted:
                report.negatives_flagged.append(example.text)
        for category, score in report.by_category.items():
            if category in predicted and category in example.labels:
                score.tp += 1
            elif category in predicted:
                score.fp += 1
                report.wrong.append((category, example.text))
            elif category in example.labels:
                score.fn += 1
                report.missed.append((category, example.text))
    return report


def table(report: Report) -> str:
    """The report as a text table, one line per category."""
    lines = [f"{'category':<24}{'positives':>10}{'precision':>11}{'recall':>8}"]
    for category, s in report.by_category.items():
        if s.tp + s.fn + s.fp == 0:
            continue
        p = "-" if s.precision is None else f"{s.precision:.2f}"
        r = "-" if s.recall is None else f"{s.recall:.2f}"
        lines.append(f"{category:<24}{s.tp + s.fn:>10}{p:>11}{r:>8}")
    lines.append(f"negatives flagged: {len(report.negatives_flagged)} of {report.negatives}")
    return "\n".join(lines)
