"""Drift and coherence, on the tick: how far answers wander from what was asked.

DriftScore v2, per lane and per model: the exponential moving average of 1 − cos(question,
answer), the two embedded with the memory embedding model (`LUKHAS_MEMORY_EMBEDDING_MODEL`,
feature hashing by default: microseconds a text). Coherence, per lane: the average, over the
last `window` ticks that saw answers, of cos(question, answer) weighted by how well the run
met its constraints (a complete answer 1, one cut short by its token limit 0.5, a blocked or
failed one 0; an answer whose validation disagreed counts 0).

A model's normal answers already sit well away from their questions (the built-in model's
answers to the evaluation questions: 0.47 with feature hashing; bench/drift.py), so the
thresholds apply to the rise of a model's EMA above its own baseline: the mean of its first
`min_samples` answers in the lane. Over the warning threshold a model is logged once; over the
blocking threshold, in an enforced lane (integration, production), its further answers
are refused until an administrator clears it (`POST /v1/admin/drift/clear`). The hold is
kept in the key-value store (Redis when configured), so every replica honours it within a
second of the one that decided it, and a clearing reaches them all. At most
`per_tick` answers are embedded each tick: under load the averages follow a sample, and the
tick keeps its budget.

After a restart the averages start from the lane's latest reflections in the experience log
(which keep what was asked and the start of what was answered).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.embeddings.base import Embedder
from app.errors import APIError
from app.kv.base import KeyValueStore
from app.matriz.breakthrough import BreakthroughDetector
from app.matriz.tick import CognitiveEvent
from app.observability.metrics import Metrics

log = logging.getLogger("lukhas.matriz.drift")

ENFORCED_LANES = frozenset({"integration", "production"})
_HOLD_SECONDS = 90 * 86400  # a hold outlives any restart; clearing it is an administrator's


class DriftBlocked(APIError):
    """503: the model is refused in this lane until an administrator clears its drift."""

    status_code = 503
    default_code = "model_blocked_for_drift"
    retryable = False


@dataclass(frozen=True, slots=True)
class DriftLimits:
    warn: float = 0.20
    block: float = 0.35
    alpha: float = 0.05  # the EMA's weight of each new answer
    min_samples: int = 50  # answers a model needs before it can be blocked
    # Answers embedded per tick, at most: 240 a second at 30 Hz, a sample the averages follow
    # closely, where embedding every answer of a busy gateway took some 5% of its core.
    per_tick: int = 8
    window: int = 300  # ticks in the coherence average


@dataclass(frozen=True, slots=True)
class Answered:
    """One run, as drift, coherence and the breakthrough detector see it."""

    model: str
    question: str
    answer: str
    satisfied: float  # constraint satisfaction, 0..1
    subject: str = ""
    ref: str | None = None


@dataclass(slots=True)
class ModelDrift:
    ema: float | None = None
    samples: int = 0
    baseline: float | None = None  # the mean drift of the first `min_samples` answers
    baseline_sum: float = 0.0
    warned: bool = False
    blocked: bool = False

    def rise(self) -> float | None:
        """How far the EMA has risen above the baseline (None before there is one)."""
        return None if self.baseline is None or self.ema is None else self.ema - self.baseline


class DriftEngine:
    """A tick engine keeping DriftScore v2 and coherence for one lane."""

    def __init__(self, embedder: Embedder, metrics: Metrics, lane: str,
                 limits: DriftLimits = DriftLimits(), store: KeyValueStore | None = None,
                 sync_every: int = 30,
                 breakthroughs: BreakthroughDetector | None = None) -> None:
        self.lane = lane
        self.breakthroughs = breakthroughs
        self._store = store
        self._sync_every = sync_every
        self._ticks_seen = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.limits = limits
        self.enforced = lane in ENFORCED_LANES
        self.ema: float | None = None
        self.models: dict[str, ModelDrift] = {}
        self._embedder = embedder
        self._ticks: deque[float] = deque(maxlen=limits.window)
        self._m_drift = metrics.drift_ema.labels(lane=lane)
        self._m_coherence = metrics.coherence.labels(lane=lane)
        self._m_blocked = metrics.drift_blocked
        self._m_samples = metrics.drift_samples.labels(lane=lane)

    def __call__(self, events: Sequence[CognitiveEvent]) -> None:
        """Fold a sample of the tick's answers into the averages; now and then, learn the
        holds other replicas decided."""
        self._ticks_seen += 1
        if self._store is not None and self.models and self._ticks_seen % self._sync_every == 0:
            self._spawn(self.sync())
        answered = [e for e in events if e.kind == "turn" and e.question and e.answer]
        if answered:
            self.fold([Answered(e.model, e.question, e.answer, e.satisfied, e.subject, e.ref)
                       for e in answered[: self.limits.per_tick]])

    def fold(self, runs: Sequence[Answered]) -> None:
        """Fold the runs (oldest first) into the averages, and show their answers to the
        breakthrough detector."""
        vectors = np.asarray(self._embedder.embed(
            [text for run in runs for text in (run.question, run.answer)]), dtype=np.float32)
        questions, answers = vectors[0::2], vectors[1::2]
        norms = np.linalg.norm(questions, axis=1) * np.linalg.norm(answers, axis=1)
        cosines = np.where(norms > 0, np.einsum("ij,ij->i", questions, answers)
                           / np.maximum(norms, 1e-12), 0.0)
        a = self.limits.alpha
        for run, cos, answer in zip(runs, cosines, answers, strict=True):
            model = run.model
            if self.breakthroughs is not None and run.subject:
                self.breakthroughs.observe(run.subject, answer, run.satisfied, ref=run.ref)
            drift = float(1.0 - cos)
            self.ema = drift if self.ema is None else self.ema + a * (drift - self.ema)
            state = self.models.setdefault(model, ModelDrift())
            state.ema = drift if state.ema is None else state.ema + a * (drift - state.ema)
            state.samples += 1
            if state.baseline is None:
                state.baseline_sum += drift
                if state.samples >= self.limits.min_samples:
                    state.baseline = state.baseline_sum / state.samples
            self._judge(model, state)
        weights = np.asarray([run.satisfied for run in runs], dtype=np.float32)
        self._ticks.append(float(np.mean(np.clip(cosines, 0.0, 1.0) * weights)))
        self._m_samples.inc(len(runs))
        if self.ema is not None:
            self._m_drift.set(self.ema)
        self._m_coherence.set(sum(self._ticks) / len(self._ticks))

    def _judge(self, model: str, state: ModelDrift) -> None:
        rise = state.rise()
        if rise is None:
            return
        if rise >= self.limits.warn and not state.warned:
            state.warned = True
            log.warning("answers drifting from their questions",
                        extra={"lane": self.lane, "model": model, "drift": state.ema,
                               "baseline": state.baseline})
        if self.enforced and not state.blocked and rise >= self.limits.block:
            state.blocked = True
            self._m_blocked.labels(lane=self.lane, model=model).set(1)
            if self._store is not None:
                self._spawn(self._store.put(self._key(model), _HOLD_SECONDS, "1"))
            log.error("model blocked for drift", extra={"lane": self.lane, "model": model,
                                                        "drift": state.ema})

    def check(self, model: str) -> None:
        """Refuse a run of a blocked model (DriftBlocked)."""
        if self.blocked(model):
            raise DriftBlocked(
                f"The model '{model}' is held in the {self.lane} lane: its answers drifted from "
                "their questions past the lane's limit. An administrator must clear it.",
                param="model")

    def blocked(self, model: str) -> bool:
        """Whether `model`'s answers are refused here until an administrator clears it."""
        state = self.models.get(model)
        return state is not None and state.blocked

    async def clear(self, model: str) -> bool:
        """Forget `model`'s drift, here and for every replica (an administrator's
        decision); whether it was held."""
        state = self.models.pop(model, None)
        held = state is not None and state.blocked
        if self._store is not None:
            held = held or await self._store.get(self._key(model)) == "1"
            await self._store.put(self._key(model), _HOLD_SECONDS, "0")
        self._m_blocked.labels(lane=self.lane, model=model).set(0)
        return held

    async def sync(self) -> None:
        """Take the holds (and clearings) the other replicas wrote, for the models seen."""
        assert self._store is not None
        for model in list(self.models):
            held = await self._store.get(self._key(model)) == "1"
            state = self.models.get(model)
            if state is None:
                continue
            if state.blocked and not held:  # cleared elsewhere: start again
                self.models.pop(model, None)
            state.blocked = held
            self._m_blocked.labels(lane=self.lane, model=model).set(1 if held else 0)

    def _key(self, model: str) -> str:
        return f"drift:held:{self.lane}:{model}"

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("drift hold could not be shared")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def replay(self, reflections: Sequence[Mapping[str, Any]]) -> None:
        """Start from the lane's latest reflections (oldest first) after a restart."""
        runs = [Answered(str(r["data"].get("model", "")), str(r["data"].get("asked", "")),
                         str(r["data"].get("answered", "")), satisfaction(
                             str(r["data"].get("finish_reason", "stop")),
                             r["data"].get("validated")), str(r.get("subject") or ""),
                         r.get("ref"))
                for r in reflections]
        runs = [run for run in runs if run.question and run.answer]
        for start in range(0, len(runs), self.limits.per_tick):
            self.fold(runs[start:start + self.limits.per_tick])

    def state(self) -> dict[str, Any]:
        """What `GET /v1/admin/drift` shows."""
        return {"object": "drift", "lane": self.lane, "enforced": self.enforced,
                "ema": self.ema, "warn": self.limits.warn, "block": self.limits.block,
                "coherence": (sum(self._ticks) / len(self._ticks)) if self._ticks else None,
                "models": [{"model": name, "ema": s.ema, "baseline": s.baseline,
                            "samples": s.samples, "blocked": s.blocked}
                           for name, s in sorted(self.models.items())],
                "breakthroughs": (None if self.breakthroughs is None
                                  else self.breakthroughs.state())}


def satisfaction(finish_reason: str, validated: bool | None) -> float:
    """How well a run met its constraints, for the coherence weight."""
    if validated is False:
        return 0.0
    return {"stop": 1.0, "tool_calls": 1.0, "length": 0.5}.get(finish_reason, 0.0)
