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

    A word's features (the word and its character 3- and 4-grams) and a pair of words'
    feature are hashed once and kept: natural text repeats its words and their pairs, so most
    of a text costs dictionary lookups. The texts of one call are summed and normalised
    together, in one pass of NumPy each (a call per text cost more than the text)."""

    id = MODEL_ID
    shortens = True
    batched = False
    isolated = False
    _CACHE_WORDS = 50_000

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self._words: dict[str, tuple[list[int], list[float]]] = {}
        self._pairs: dict[str, tuple[int, float]] = {}

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

    def _pair(self, first: str, second: str) -> tuple[int, float]:
        feature = f"b:{first} {second}"
        cached = self._pairs.get(feature)
        if cached is None:
            bucket, sign = _hashed(feature, self.dimensions)
            if len(self._pairs) >= self._CACHE_WORDS:
                self._pairs.clear()
            cached = self._pairs[feature] = (bucket, sign * 0.75)
        return cached

    def _features(self, text: str, buckets: list[int], weights: list[float]) -> None:
        """Append the features of `text` to `buckets` and `weights`."""
        words = [w.lower() for w in _WORD.findall(text)]
        for w in words:
            b, v = self._word(w)
            buckets += b
            weights += v
        for a, b2 in itertools.pairwise(words):
            bucket, weight = self._pair(a, b2)
            buckets.append(bucket)
            weights.append(weight)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text (the zero vector for text with no word)."""
        n, dims = len(texts), self.dimensions
        if not n:
            return np.zeros((0, dims), dtype=np.float32)
        buckets: list[int] = []
        weights: list[float] = []
        ends = []
        for text in texts:
            self._features(text, buckets, weights)
            ends.append(len(buckets))
        # Each text's buckets in a row of its own: shifted by the row's start.
        counts = np.diff(np.asarray(ends), prepend=0)
        rows = np.repeat(np.arange(0, n * dims, dims), counts)
        # Weights are multiples of 1/4 and the sums small: every sum, and every sum of their
        # squares, is exact in any order and in float32 as in float64; the float64 square
        # root rounded to float32 is float32's own (double rounding is innocuous for a square
        # root from 53 bits to 24), so each vector is what one text alone gave.
        sums = np.bincount(rows + np.asarray(buckets, dtype=np.intp), weights,
                           minlength=n * dims).reshape(n, dims)
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums)).astype(np.float32)
        vectors = sums.astype(np.float32)
        np.divide(vectors, norms[:, None], out=vectors, where=norms[:, None] > 0)
        return vectors

    def detokenize(self, ids: Sequence[int]) -> str:
        """Token ids become words of their own (`t123`), so equal ids embed alike."""
        if any(i < 0 for i in ids):
            raise ValueError("token ids must be non-negative")
        return " ".join(f"t{i}" for i in ids)
