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


def _features(text: str) -> Iterator[tuple[str, float]]:
    words = [w.lower() for w in _WORD.findall(text)]
    for w in words:
        yield "w:" + w, 1.0
        padded = f"<{w}>"
        for n in (3, 4):
            for i in range(len(padded) - n + 1):
                yield f"c{n}:" + padded[i : i + n], 0.5
    for a, b in itertools.pairwise(words):
        yield f"b:{a} {b}", 0.75


class HashingEmbedder:
    """Signed feature hashing into `dimensions` buckets."""

    id = MODEL_ID
    shortens = True

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimensions, dtype=np.float32)
        for feature, weight in _features(text):
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            sign = 1.0 if value & 1 else -1.0
            vec[(value >> 1) % self.dimensions] += sign * weight
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
