"""Retention per lane (`configs/memory/retention.yaml`), and the sweep that enforces it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from app.db.repositories import memory as repo
from app.observability.metrics import Metrics

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "memory" / "retention.yaml"


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


class ExpirySweeper:
    """One sweep of expired documents, refreshing `lukhas_memory_documents`; the tick runs it
    as a `PeriodicJob` (which logs a failure and tries again next period)."""

    def __init__(self, pool: Any, batch: int = 10_000, metrics: Metrics | None = None) -> None:
        self._metrics = metrics
        self._pool = pool
        self._batch = batch

    async def sweep(self) -> int:
        """Delete one batch of expired documents; how many went."""
        async with self._pool.acquire() as conn:
            done = await repo.sweep_expired(conn, self._batch)
            if self._metrics is not None:
                for lane, count in (await repo.count_by_lane(conn)).items():
                    self._metrics.memory_documents.labels(lane=lane).set(count)
        return done
