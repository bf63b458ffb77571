"""The orchestrator: stages run in order, each timed, spanned and budgeted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from app.identity.base import Identity
from app.matriz.contract import Event, RunContext, TextDelta
from app.matriz.orchestrator import Orchestrator
from app.observability.metrics import Metrics

STAGES = ("memory", "attention", "thought", "risk", "intent", "action")


class Recorder:
    def __init__(self, name: str, log: list[str], delay: float = 0.0) -> None:
        self.name = name
        self._log = log
        self._delay = delay

    async def run(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        async for event in upstream:
            yield event
        if self._delay:
            await asyncio.sleep(self._delay)
        self._log.append(self.name)
        if self.name == "thought":
            for word in ("a ", "b"):
                yield TextDelta(word)


def _ctx() -> RunContext:
    who = Identity(subject="s", scopes=frozenset({"*"}), tier="T3", kind="api_key")
    return RunContext(identity=who, model="m", question="q", history=[])


def _orchestrator(
    log: list[str], slow: str | None = None
) -> tuple[Orchestrator, CollectorRegistry, InMemorySpanExporter]:
    registry = CollectorRegistry()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    stages = [Recorder(n, log, 0.05 if n == slow else 0.0) for n in STAGES]
    budgets = {n: 0.02 for n in STAGES}
    orch = Orchestrator(stages, Metrics(registry), provider.get_tracer("t"), "dev",
                        budgets.__getitem__)
    return orch, registry, exporter


async def test_stages_run_in_order_and_are_measured() -> None:
    log: list[str] = []
    orch, registry, exporter = _orchestrator(log, slow="attention")
    events = [e async for e in orch.run(_ctx())]
    assert log == list(STAGES)
    assert [e.text for e in events] == ["a ", "b"]
    for stage in STAGES:
        count = registry.get_sample_value(
            "lukhas_matriz_stage_seconds_count", {"stage": stage, "lane": "dev"})
        assert count == 1
    slow_sum = registry.get_sample_value(
        "lukhas_matriz_stage_seconds_sum", {"stage": "attention", "lane": "dev"})
    thought_sum = registry.get_sample_value(
        "lukhas_matriz_stage_seconds_sum", {"stage": "thought", "lane": "dev"})
    assert slow_sum is not None and slow_sum >= 0.05
    assert thought_sum is not None and thought_sum < 0.02, "own time excludes upstream time"
    over = registry.get_sample_value(
        "lukhas_matriz_stage_over_budget_total", {"stage": "attention", "lane": "dev"})
    assert over == 1
    assert registry.get_sample_value(
        "lukhas_matriz_stage_over_budget_total", {"stage": "memory", "lane": "dev"}) == 0
    assert sorted(s.name for s in exporter.get_finished_spans()) == sorted(
        f"matriz.{s}" for s in STAGES)


async def test_a_failing_stage_is_counted_and_propagates() -> None:
    class Broken(Recorder):
        async def run(
            self, ctx: RunContext, upstream: AsyncIterator[Event]
        ) -> AsyncIterator[Event]:
            async for event in upstream:
                yield event
            raise RuntimeError("broken stage")

    log: list[str] = []
    orch, registry, _ = _orchestrator(log)
    orch.stages = (*orch.stages[:3], Broken("risk", log), *orch.stages[4:])
    with pytest.raises(RuntimeError, match="broken stage"):
        [e async for e in orch.run(_ctx())]
    assert registry.get_sample_value(
        "lukhas_matriz_pipeline_runs_total", {"lane": "dev", "status": "failed"}) == 1
