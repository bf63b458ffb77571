"""Embedding models behind one interface, each listed in `/v1/models`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    id: str
    dimensions: int
    # True if `dimensions` may be asked smaller (the vector is cut and re-normalised).
    shortens: bool
    # True for a neural model: concurrent requests wait a moment to share one call, which
    # runs in a worker thread. False for an embedder that costs microseconds a text: it runs
    # at once, on the event loop for small inputs.
    batched: bool
    # True for a model whose forward pass is many numpy calls: it runs in a worker process
    # of its own (app/embeddings/batcher.py), where it cannot contend for the interpreter's
    # lock with the event loop.
    isolated: bool

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text (blocking: call it off the event loop)."""
        ...

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text for a list of this model's token ids; ValueError for an unknown id."""
        ...


def shorten(vectors: Vectors, dimensions: int) -> Vectors:
    """Keep the first `dimensions` components and re-normalise each row to unit length."""
    cut = vectors[:, :dimensions]
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Vectors = (cut / norms).astype(np.float32)
    return out
