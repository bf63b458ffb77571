"""Semantic similarity: how close a text comes to a category's example phrases.

Each semantic rule lists example phrases; the text (cut into pieces of about a sentence or
two, as the embedding model reads a few hundred tokens at most) is embedded with a model
served here, and its score is the highest cosine similarity between any piece and any
example. The rule fires at its threshold. The examples are embedded once per policy and
kept until the policy changes; a text is embedded once per model, whatever the number of
rules that use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import regex

from app.config_files import ReloadEvent
from app.embeddings.base import Vectors
from app.embeddings.registry import EmbeddingRegistry

if TYPE_CHECKING:
    from app.guardian.compiled import CompiledRule, Policy

PIECE_CHARS = 400
_SENTENCE_END = regex.compile(r"(?<=[.!?。！？])\s+|\n+")


def pieces(text: str) -> list[tuple[int, int]]:
    """Spans of `text` of at most about PIECE_CHARS, cut at sentence ends where possible."""
    out: list[tuple[int, int]] = []
    start = 0
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    last = 0
    for cut in cuts:
        if cut - start > PIECE_CHARS and last > start:
            out.append((start, last))
            start = last
        while cut - start > PIECE_CHARS:  # one sentence longer than a piece: cut at a space
            at = text.rfind(" ", start, start + PIECE_CHARS)
            end = at + 1 if at > start else start + PIECE_CHARS
            out.append((start, end))
            start = end
        last = cut
    if start < len(text):
        out.append((start, len(text)))
    return [(s, e) for s, e in out if text[s:e].strip()]


# Example rows by (model, dimensions, examples), for the whole process: the models served
# here are local and deterministic, so an app started again (a reload of the same rules, a
# second app in one process) does not embed the same phrases again.
_EXAMPLE_ROWS: dict[tuple[str, int, tuple[str, ...]], Vectors] = {}
_EXAMPLE_ROWS_KEPT = 256


@dataclass(frozen=True, slots=True)
class Found:
    rule: CompiledRule
    score: float
    start: int
    end: int


class SemanticIndex:
    """The example vectors of the policy in force, and the scoring of texts against them."""

    def __init__(self, registry: EmbeddingRegistry) -> None:
        self._registry = registry
        # policy digest -> rule name -> rows; the policy in force and the one before it,
        # which requests that started before a reload still hold
        self._examples: dict[str, dict[str, Vectors]] = {}
        self._lock = asyncio.Lock()

    def models(self) -> set[str]:
        """The embedding models a semantic rule may name."""
        return {card.id for card in self._registry.cards()}

    async def prepare(self, policy: Policy) -> dict[str, Vectors]:
        """The example vectors of `policy`, embedded on first use (at start and after a
        reload, before any request needs them)."""
        async with self._lock:
            if policy.digest in self._examples:
                return self._examples[policy.digest]
            examples: dict[str, Vectors] = {}
            for rule in policy.rules:
                if rule.detector == "semantic":
                    batcher = self._registry.get(rule.model)
                    key = (rule.model, batcher.embedder.dimensions, rule.examples)
                    rows = _EXAMPLE_ROWS.pop(key, None)
                    if rows is None:
                        rows = await batcher.embed(list(rule.examples))
                    _EXAMPLE_ROWS[key] = rows  # the most recent last
                    while len(_EXAMPLE_ROWS) > _EXAMPLE_ROWS_KEPT:
                        del _EXAMPLE_ROWS[next(iter(_EXAMPLE_ROWS))]
                    examples[rule.name] = rows
            self._examples = {**dict(list(self._examples.items())[-1:]),
                              policy.digest: examples}
            return examples

    async def on_reload(self, _event: ReloadEvent, policy: Policy | None) -> None:
        """Embed a newly applied policy's examples before requests ask for them (as the
        start does for the first policy)."""
        if policy is not None:
            await self.prepare(policy)

    async def score(self, policy: Policy, rules: Sequence[CompiledRule],
                    text: str) -> list[Found]:
        """Each rule's best score over the pieces of `text`, with the best piece's span."""
        examples = self._examples.get(policy.digest) or await self.prepare(policy)
        spans = pieces(text)
        by_model: dict[str, Vectors] = {}
        found = []
        for rule in rules:
            if rule.model not in by_model:
                batcher = self._registry.get(rule.model)
                by_model[rule.model] = await batcher.embed([text[s:e] for s, e in spans])
            sims = by_model[rule.model] @ examples[rule.name].T  # rows are unit length
            best = np.unravel_index(int(np.argmax(sims)), sims.shape)
            start, end = spans[int(best[0])]
            found.append(Found(rule, max(0.0, float(sims[best])), start, end))
        return found
