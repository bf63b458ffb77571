"""Which embedding models are served, each with its micro-batcher."""

from __future__ import annotations

from collections.abc import Sequence

from app.core.cards import ModelCard
from app.embeddings.base import Embedder
from app.embeddings.batcher import MicroBatcher
from app.errors import NotFound
from app.observability.metrics import Metrics

_CREATED = 1767225600
MAX_INPUT_TOKENS = 512  # per text, as far as the usage count goes; longer texts are cut


class EmbeddingRegistry:
    def __init__(self, embedders: Sequence[Embedder], metrics: Metrics, *, max_batch: int,
                 max_wait_s: float) -> None:
        self._batchers = {e.id: MicroBatcher(e, metrics, max_batch=max_batch,
                                             max_wait_s=max_wait_s) for e in embedders}
        self.default = embedders[0].id if embedders else None

    def cards(self) -> list[ModelCard]:
        """The embedding models, for `/v1/models`."""
        return [ModelCard(b.embedder.id, _CREATED, "lukhas", MAX_INPUT_TOKENS)
                for b in self._batchers.values()]

    def get(self, model: str) -> MicroBatcher:
        """The batcher of `model`, or 404 `model_not_found`."""
        batcher = self._batchers.get(model)
        if batcher is None:
            raise NotFound(f"The embedding model '{model}' does not exist.",
                           param="model", code="model_not_found")
        return batcher

    def worker_cpu_seconds(self) -> float:
        """CPU time the isolated models' worker processes spent on this registry's calls."""
        return sum(b.cpu_seconds for b in self._batchers.values())

    async def close(self) -> None:
        """Stop every batcher."""
        for batcher in self._batchers.values():
            await batcher.close()
