"""Retention per lane (`configs/memory/retention.yaml`), and the sweep that enforces it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from app.db.repositories import memory as repo
from app.matriz.tick import CognitiveEvent
from app.observability.metrics import Metrics

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "memory" / "retention.yaml"
log = logging.getLogger("lukhas.memory.retention")


@dataclass(frozen=True, slots=True)
class Retention:
    default_days: float
    lanes: dict[str, float]

    def expires_at(self, lane: str, now: datetime | None = None) -> datetime:
        """When a document written now in `lane` expires."""
        days = self.lanes.get(lane, self.default_days)
        return (now or datetime.now(UTC)) + timedelta(days=days)


def load_retention(path: Path = DEFAULT_PATH) -> Retention:
    """Read the retention file."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return Retention(float(raw.get("default_days", 365)),
                     {str(k): float(v) for k, v in (raw.get("lanes") or {}).items()})


class ExpirySweepEngine:
    """A tick engine: every `every` ticks, start one sweep of expired documents and refresh
    `lukhas_memory_documents` (never two at once; the tick itself never waits on them)."""

    def __init__(self, pool: Any, every: int = 1800, batch: int = 10_000,
                 metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._pool = pool
        self._every = every
        self._batch = batch
        self._count = 0
        self._task: asyncio.Task[int] | None = None
        self.swept = 0

    def __call__(self, _: Sequence[CognitiveEvent]) -> None:
        """Count ticks; start a sweep when due and none is running."""
        self._count += 1
        if self._count % self._every == 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.sweep())

    async def sweep(self) -> int:
        """Delete one batch of expired documents."""
        try:
            async with self._pool.acquire() as conn:
                done = await repo.sweep_expired(conn, self._batch)
                if self._metrics is not None:
                    for lane, count in (await repo.count_by_lane(conn)).items():
                        self._metrics.memory_documents.labels(lane=lane).set(count)
        except Exception:
            log.exception("expiry sweep failed")
            return 0
        self.swept += done
        return done
