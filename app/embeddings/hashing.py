"""`lukhas-hash-v1`: feature hashing of word and character n-grams, signed, L2-normalised.

No model and no dependency beyond NumPy: deterministic across processes and machines (the
hash is BLAKE2b, not Python's salted `hash`). Texts that share words and word pieces land
near each other, which is enough for tests and the smallest deployments.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence

import numpy as np

from app.embeddings.base import Vectors

MODEL_ID = "lukhas-hash-v1"
_WORD = re.compile(r"\w+")


def _hashed(feature: str, dimensions: int) -> tuple[int, float]:
    """The bucket of `feature` and its sign."""
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return (value >> 1) % dimensions, 1.0 if value & 1 else -1.0


def _word_features(word: str) -> Iterator[tuple[str, float]]:
    yield "w:" + word, 1.0
    padded = f"<{word}>"
    for n in (3, 4):
        for i in range(len(padded) - n + 1):
            yield f"c{n}:" + padded[i : i + n], 0.5


class HashingEmbedder:
    """Signed feature hashing into `dimensions` buckets.

    A word's features (the word and its character 3- and 4-grams) are hashed once and kept:
    natural text repeats its words, so most of a text costs a dictionary lookup."""

    id = MODEL_ID
    shortens = True
    batched = False
    isolated = False
    _CACHE_WORDS = 50_000

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self._words: dict[str, tuple[list[int], list[float]]] = {}

    def _word(self, word: str) -> tuple[list[int], list[float]]:
        cached = self._words.get(word)
        if cached is None:
            buckets, weights = [], []
            for feature, weight in _word_features(word):
                bucket, sign = _hashed(feature, self.dimensions)
                buckets.append(bucket)
                weights.append(sign * weight)
            if len(self._words) >= self._CACHE_WORDS:
                self._words.clear()
            cached = self._words[word] = (buckets, weights)
        return cached

    def _vector(self, text: str) -> np.ndarray:
        words = [w.lower() for w in _WORD.findall(text)]
        buckets: list[int] = []
        weights: list[float] = []
        for w in words:
            b, v = self._word(w)
            buckets += b
            weights += v
        for a, b2 in itertools.pairwise(words):
            bucket, sign = _hashed(f"b:{a} {b2}", self.dimensions)
            buckets.append(bucket)
            weights.append(sign * 0.75)
        # Weights are multiples of 1/4: the sums are exact in any order and any precision.
        vec = np.bincount(buckets, weights, minlength=self.dimensions).astype(np.float32)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text (the zero vector for text with no word)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def detokenize(self, ids: Sequence[int]) -> str:
        """Token ids become words of their own (`t123`), so equal ids embed alike."""
        if any(i < 0 for i in ids):
            raise ValueError("token ids must be non-negative")
        return " ".join(f"t{i}" for i in ids)
