"""Breakthrough detection: an answer (or a dream's scenario) unusually new for its caller and
unusually good at once.

score = novelty × value, where novelty is the cosine distance of the thing's embedding from
the caller's recent centroid (an exponential moving average of their answers' embeddings),
and value is how well it met its constraints (for a scenario: its support and constraint
satisfaction, from the dream). A running mean and variance of the lane's scores (Welford)
give a z-score; z ≥ 3, once `min_scores` scores are known, is a flag, counted in
`lukhas_breakthrough_flags_total{lane,kind}` and kept among the latest flags that
`GET /v1/admin/drift` shows. The caller's first answer has no centroid to be new against.

It runs on the tick, fed by the drift engine's embeddings (nothing is embedded twice), and
starts after a restart from the lane's latest reflections, as drift does.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.observability.metrics import Metrics

Z_FLAG = 3.0


@dataclass(frozen=True, slots=True)
class Flag:
    source: str  # "answer" | "scenario"
    subject: str
    ref: str | None
    z: float
    novelty: float
    value: float
    at: float


class BreakthroughDetector:
    """Novelty × value against each caller's recent centroid, as a running z-score."""

    def __init__(self, metrics: Metrics, lane: str, *, alpha: float = 0.2,
                 min_scores: int = 30, subjects: int = 10_000, keep: int = 50) -> None:
        self.lane = lane
        self._alpha = alpha
        self._min_scores = min_scores
        self._subjects = subjects
        self._centroids: OrderedDict[str, np.ndarray] = OrderedDict()
        self.n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self.flags: deque[Flag] = deque(maxlen=keep)
        self._m_flags = metrics.breakthrough_flags
        self._m_z = metrics.breakthrough_z.labels(lane=lane)

    def observe(self, subject: str, vector: np.ndarray, value: float, *,
                source: str = "answer", ref: str | None = None) -> Flag | None:
        """Score one answer or scenario of `subject`; the flag, when it is one."""
        centroid = self._centroids.get(subject)
        norm = float(np.linalg.norm(vector))
        unit = vector / norm if norm > 0 else vector
        if source == "answer":  # scenarios are judged against answers, not added to them
            self._centroids[subject] = unit if centroid is None else (
                (1 - self._alpha) * centroid + self._alpha * unit)
            self._centroids.move_to_end(subject)
            if len(self._centroids) > self._subjects:
                self._centroids.popitem(last=False)
        if centroid is None:
            return None
        c_norm = float(np.linalg.norm(centroid))
        cos = float(unit @ centroid) / c_norm if c_norm > 0 else 0.0
        novelty = max(0.0, 1.0 - cos)
        score = novelty * value
        z = self._z(score)
        self._add(score)
        if z is None or z < Z_FLAG:
            return None
        flag = Flag(source, subject, ref, z, novelty, value, time.time())
        self.flags.append(flag)
        self._m_flags.labels(lane=self.lane, kind=source).inc()
        return flag

    def _z(self, score: float) -> float | None:
        if self.n < self._min_scores:
            return None
        std = math.sqrt(self._m2 / (self.n - 1))
        z = (score - self._mean) / std if std > 0 else 0.0
        self._m_z.set(z)
        return z

    def _add(self, score: float) -> None:
        self.n += 1
        delta = score - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (score - self._mean)

    def state(self) -> dict[str, Any]:
        """The running statistics and the latest flags."""
        return {"scores": self.n, "mean": self._mean if self.n else None,
                "std": math.sqrt(self._m2 / (self.n - 1)) if self.n > 1 else None,
                "flags": [{"source": f.source, "subject": f.subject, "ref": f.ref,
                           "z": round(f.z, 3), "novelty": round(f.novelty, 4),
                           "value": f.value, "at": f.at} for f in self.flags]}
