"""The MATRIZ tick: bounded buffer with counted drops, engines, liveness, rate adaptation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from app.kv.memory import MemoryStore
from app.matriz.tick import AwarenessEngine, CognitiveEvent, InProcessSweepEngine, Tick
from app.observability.metrics import Metrics
from app.reliability.ratelimit import Limit, MemoryLimiter


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_full_buffer_drops_oldest_and_counts() -> None:
    registry = CollectorRegistry()
    seen: list[CognitiveEvent] = []
    tick = Tick(Metrics(registry), "dev", hz=30, buffer_size=16,
                engines=[lambda events: seen.extend(events)])
    for i in range(20):
        tick.publish(CognitiveEvent("turn", "arithmetic", float(i)))
    tick.run_once()
    assert [e.seconds for e in seen] == [float(i) for i in range(4, 20)]
    assert tick.dropped == 4
    assert _metric(registry, "lukhas_matriz_tick_events_dropped_total", lane="dev") == 4
    assert _metric(registry, "lukhas_matriz_tick_events_total", lane="dev") == 16


def test_failing_engine_does_not_stop_the_others() -> None:
    seen: list[int] = []

    def broken(_: Sequence[CognitiveEvent]) -> None:
        raise RuntimeError("boom")

    tick = Tick(Metrics(CollectorRegistry()), "dev", hz=30, buffer_size=16,
                engines=[broken, lambda events: seen.append(len(events))])
    tick.publish(CognitiveEvent("turn", "recall", 0.1))
    tick.run_once()
    assert seen == [1]


def test_awareness_tracks_unknown_share() -> None:
    registry = CollectorRegistry()
    engine = AwarenessEngine(Metrics(registry), "dev", alpha=0.5)
    engine([CognitiveEvent("turn", "unknown", 0.2), CognitiveEvent("turn", "unknown", 0.2)])
    assert engine.unknown_ema == 0.75
    assert engine.latency_ema == 0.2
    assert _metric(registry, "lukhas_matriz_awareness_unknown_ratio_ema", lane="dev") == 0.75


async def test_loop_ticks_and_reports_alive() -> None:
    tick = Tick(Metrics(CollectorRegistry()), "dev", hz=200, buffer_size=16)
    assert not tick.alive()
    tick.start()
    await asyncio.sleep(0.1)
    assert tick.ticks >= 5
    assert tick.alive()
    await tick.stop()
    assert not tick.alive()
    assert not tick.alive(now=time.monotonic() + 60)


async def test_slow_engine_lowers_the_rate() -> None:
    def slow(_: Sequence[CognitiveEvent]) -> None:
        time.sleep(0.01)  # 10 ms: over half of a 100 Hz period

    registry = CollectorRegistry()
    tick = Tick(Metrics(registry), "dev", hz=100, buffer_size=16, engines=[slow])
    tick.start()
    await asyncio.sleep(0.5)
    await tick.stop()
    assert tick.hz < 100
    assert _metric(registry, "lukhas_matriz_tick_rate_hz", lane="dev") == tick.hz



def test_in_process_stores_are_swept_and_others_skipped() -> None:
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    limiter = MemoryLimiter(clock=lambda: now[0])
    asyncio.run(store.claim("used-jti", 10))
    asyncio.run(limiter.acquire("alice:models", Limit(60, None), 60, 0))
    engine = InProcessSweepEngine([store, limiter, object()], every=2)
    engine([])
    assert engine.swept == 0, "only every second tick"
    now[0] += 61  # the claim expired, and the limiter's capacity has refilled
    engine([])
    assert engine.swept == 2
    assert not asyncio.run(store.exists("used-jti"))
