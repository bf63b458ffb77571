"""The MATRIZ tick: one background asyncio loop running the slower engines.

Requests `publish` cognitive events into a bounded ring buffer and never wait on the tick;
when the buffer is full the oldest event is dropped and counted. Each tick drains the
buffer and runs the engines. When the p95 of recent ticks exceeds the tick's budget, the
loop halves its rate (down to a floor) and recovers gradually once ticks are fast again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from app.observability.metrics import Metrics

log = logging.getLogger("lukhas.matriz.tick")

_WINDOW = 64  # ticks in the p95 window
_MIN_HZ = 1.0
# Reflections the awareness engine replays from the experience log at start: enough for
# its averages (alpha 0.05) to forget where they started.
AWARENESS_REPLAY = 200


@dataclass(frozen=True, slots=True)
class CognitiveEvent:
    kind: str  # "turn"
    node: str  # which reasoner node answered ("none" when unknown)
    seconds: float
    # A turn's model, what was asked and the start of what was answered, and how well it met
    # its constraints (app/matriz/drift.py); empty when not known.
    model: str = ""
    question: str = ""
    answer: str = ""
    satisfied: float = 1.0
    subject: str = ""  # who asked
    ref: str | None = None  # the response or completion
    wrote_memory: bool = False  # the caller's words went to long-term memory


Engine = Callable[[Sequence[CognitiveEvent]], None]


class AwarenessEngine:
    """Drift signals per lane: EMAs of turn latency and of the share of unknown answers."""

    def __init__(self, metrics: Metrics, lane: str, alpha: float = 0.05) -> None:
        self.latency_ema: float | None = None
        self.unknown_ema = 0.0
        self._alpha = alpha
        self._latency = metrics.awareness_latency.labels(lane=lane)
        self._unknown = metrics.awareness_unknown.labels(lane=lane)

    def replay(self, reflections: Sequence[Mapping[str, Any]]) -> None:
        """Start from the lane's latest reflections (the experience log's `data`, oldest
        first) instead of cold, after a restart."""
        self([CognitiveEvent("turn", str(r["data"].get("node", "none")),
                             float(r["data"].get("seconds", 0.0))) for r in reflections])

    def __call__(self, events: Sequence[CognitiveEvent]) -> None:
        """Fold the drained turns into the moving averages."""
        a = self._alpha
        for event in events:
            if event.kind != "turn":
                continue
            prev = self.latency_ema
            self.latency_ema = event.seconds if prev is None else prev + a * (event.seconds - prev)
            unknown = 1.0 if event.node in ("unknown", "none") else 0.0
            self.unknown_ema += a * (unknown - self.unknown_ema)
        if self.latency_ema is not None:
            self._latency.set(self.latency_ema)
        self._unknown.set(self.unknown_ema)


@runtime_checkable
class Sweepable(Protocol):
    def sweep_expired(self) -> int:
        """Drop expired entries; return how many."""
        ...


class InProcessSweepEngine:
    """Every `every` ticks, drops expired entries from the in-process stores (sessions,
    revocations and single-use claims, rate-limit state); Redis expires its own keys."""

    def __init__(self, stores: Sequence[object], every: int = 300) -> None:
        self._stores = [s for s in stores if isinstance(s, Sweepable)]
        self._every = every
        self._count = 0
        self.swept = 0

    def __call__(self, _: Sequence[CognitiveEvent]) -> None:
        """Sweep on every `every`-th tick."""
        self._count += 1
        if self._count % self._every == 0:
            self.swept += sum(store.sweep_expired() for store in self._stores)


class PeriodicJob:
    """A tick engine: every `every` ticks, start `job` in the background (never two runs at
    once; the tick itself never waits on it). `job` returns how many things it did."""

    def __init__(self, name: str, job: Callable[[], Awaitable[int]], every: int = 1800) -> None:
        self.name = name
        self._job = job
        self._every = every
        self._count = 0
        self._task: asyncio.Task[int] | None = None
        self.done = 0

    def __call__(self, _: Sequence[CognitiveEvent]) -> None:
        """Count ticks; start the job when due and none is running."""
        self._count += 1
        if self._count % self._every == 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> int:
        """Run the job once; a failure is logged, and the next period tries again."""
        try:
            done = await self._job()
        except Exception:
            log.exception("periodic job failed", extra={"job": self.name})
            return 0
        self.done += done
        return done


class Tick:
    """The loop, its buffer and its engines."""

    def __init__(
        self, metrics: Metrics, lane: str, *, hz: float, buffer_size: int,
        engines: Sequence[Engine] = (),
    ) -> None:
        self.target_hz = hz
        self.hz = hz
        self.ticks = 0
        self.last_tick_at: float | None = None
        self.dropped = 0
        self._buffer: deque[CognitiveEvent] = deque(maxlen=buffer_size)
        self._engines = list(engines)
        self._durations: deque[float] = deque(maxlen=_WINDOW)
        self._task: asyncio.Task[None] | None = None
        self._m_seconds = metrics.tick_seconds.labels(lane=lane)
        self._m_hz = metrics.tick_hz.labels(lane=lane)
        self._m_events = metrics.tick_events.labels(lane=lane)
        self._m_dropped = metrics.tick_dropped.labels(lane=lane)
        self._m_buffer = metrics.tick_buffer.labels(lane=lane)
        self._m_engine_seconds = metrics.engine_seconds
        self._lane = lane
        self._m_hz.set(hz)

    def publish(self, event: CognitiveEvent) -> None:
        """Queue an event for the next tick; never blocks. Drops the oldest when full."""
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
            self._m_dropped.inc()
        self._buffer.append(event)

    def alive(self, now: float | None = None) -> bool:
        """True while the loop runs and has ticked within a few periods."""
        if self._task is None or self._task.done() or self.last_tick_at is None:
            return False
        now = time.monotonic() if now is None else now
        return now - self.last_tick_at < max(1.0, 5.0 / self.hz)

    def crashed(self) -> bool:
        """True when the loop ended on its own (stop() forgets the task it ends)."""
        return self._task is not None and self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self.last_tick_at = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name="matriz-tick")

    async def stop(self) -> None:
        """Stop the loop, draining what is left once."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self.run_once()

    def run_once(self) -> float:
        """Drain the buffer and run every engine once; return the tick's duration."""
        started = time.perf_counter()
        events = list(self._buffer)
        self._buffer.clear()
        for engine in self._engines:
            seconds = self._m_engine_seconds.labels(lane=self._lane, component=_name(engine))
            began = time.perf_counter()
            try:
                engine(events)
            except Exception:
                log.exception("tick engine failed", extra={"engine": type(engine).__name__})
            seconds.observe(time.perf_counter() - began)
        elapsed = time.perf_counter() - started
        self.ticks += 1
        self.last_tick_at = time.monotonic()
        self._m_events.inc(len(events))
        self._m_buffer.set(len(self._buffer))
        self._m_seconds.observe(elapsed)
        return elapsed

    def _adapt(self, elapsed: float) -> None:
        self._durations.append(elapsed)
        if len(self._durations) < 8:
            return
        p95 = statistics.quantiles(self._durations, n=20)[-1]
        budget = 0.5 / self.hz  # a tick may use half its period
        if p95 > budget and self.hz > _MIN_HZ:
            self.hz = max(_MIN_HZ, self.hz / 2)
            self._durations.clear()
            log.warning("tick over budget, lowering rate", extra={"hz": self.hz, "p95_s": p95})
        elif p95 < budget / 4 and self.hz < self.target_hz:
            self.hz = min(self.target_hz, self.hz * 1.25)
        self._m_hz.set(self.hz)

    async def _loop(self) -> None:
        next_at = time.monotonic()
        while True:
            self._adapt(self.run_once())
            next_at += 1.0 / self.hz
            delay = next_at - time.monotonic()
            if delay < 0:  # fell behind: don't try to catch up in a burst
                next_at = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)


def _name(engine: Engine) -> str:
    """An engine's name for its metric: a periodic job's own, or its class's."""
    name = getattr(engine, "name", None)
    return name if isinstance(name, str) else type(engine).__name__
