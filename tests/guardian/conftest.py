"""Fixtures shared by the Guardian's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from app.embeddings.hashing import HashingEmbedder
from app.embeddings.registry import EmbeddingRegistry
from app.observability.metrics import Metrics


@pytest.fixture
async def registry() -> AsyncIterator[EmbeddingRegistry]:
    """An embedding registry serving feature hashing (`lukhas-hash-v1`), for semantic rules."""
    registry = EmbeddingRegistry([HashingEmbedder(256)], Metrics(CollectorRegistry()),
                                 max_batch=8, max_wait_s=0.001)
    yield registry
    await registry.close()
