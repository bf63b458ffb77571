"""The orchestrator: stages run in order, each timed, spanned and budgeted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from app.identity.base import Identity
from app.matriz.contract import ChildSpan, Event, RunContext, Stage, TextDelta
from app.matriz.orchestrator import Orchestrator
from app.observability.metrics import Metrics

STAGES = ("memory", "attention", "thought", "risk", "intent", "action")


class Recorder(Stage):
    """Logs its phases; Thought produces two deltas, Risk upper-cases them."""

    def __init__(self, name: str, log: list[str], delay: float = 0.0) -> None:
        self.name = name
        self._log = log
        self._delay = delay

    async def before(self, ctx: RunContext) -> None:
        if self.name in ("memory", "attention"):
            await asyncio.sleep(self._delay)
            self._log.append(self.name)

    async def after(self, ctx: RunContext) -> None:
        if self.name in ("intent", "action"):
            self._log.append(self.name)


class Producer(Recorder):
    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        self._log.append(self.name)
        for word in ("a ", "b"):
            yield TextDelta(word)


class Filter(Recorder):
    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        async for event in upstream:
            if self.name not in self._log:  # seen once it has something to filter
                self._log.append(self.name)
            yield TextDelta(event.text.upper())


def _ctx() -> RunContext:
    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    return RunContext(identity=who, model="m", question="q", history=[])


def _orchestrator(
    log: list[str], slow: str | None = None, replace: Stage | None = None
) -> tuple[Orchestrator, CollectorRegistry, InMemorySpanExporter, TracerProvider]:
    registry = CollectorRegistry()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    kinds = {"thought": Producer, "risk": Filter}
    stages = [kinds.get(n, Recorder)(n, log, 0.05 if n == slow else 0.0) for n in STAGES]
    if replace is not None:
        stages = [replace if s.name == replace.name else s for s in stages]
    budgets = {n: 0.02 for n in STAGES}
    orch = Orchestrator(stages, Metrics(registry), provider.get_tracer("t"), "dev",
                        budgets.__getitem__)
    return orch, registry, exporter, provider


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_stages_run_in_order_and_are_measured() -> None:
    log: list[str] = []
    orch, registry, exporter, provider = _orchestrator(log, slow="attention")
    with provider.get_tracer("t").start_as_current_span("request"):
        events = [e async for e in orch.run(_ctx())]
    assert log == list(STAGES)
    assert [e.text for e in events] == ["A ", "B"]
    for stage in STAGES:
        assert _sample(registry, "lukhas_matriz_stage_seconds_count", stage=stage,
                       lane="dev") == 1
    slow = _sample(registry, "lukhas_matriz_stage_seconds_sum", stage="attention", lane="dev")
    risk = _sample(registry, "lukhas_matriz_stage_seconds_sum", stage="risk", lane="dev")
    assert slow is not None and slow >= 0.05
    assert risk is not None and risk < 0.02, "a stage's own time excludes the stream it wraps"
    assert _sample(registry, "lukhas_matriz_stage_over_budget_total", stage="attention",
                   lane="dev") == 1
    assert _sample(registry, "lukhas_matriz_stage_over_budget_total", stage="memory",
                   lane="dev") == 0
    names = [s.name for s in exporter.get_finished_spans()]
    assert sorted(names) == sorted([*(f"matriz.{s}" for s in STAGES), "request"])


async def test_no_stage_spans_without_a_recorded_request_span() -> None:
    orch, _, exporter, _ = _orchestrator([])
    assert [e.text async for e in orch.run(_ctx())] == ["A ", "B"]
    assert exporter.get_finished_spans() == ()


async def test_a_failing_stage_is_counted_and_propagates() -> None:
    class Broken(Recorder):
        async def after(self, ctx: RunContext) -> None:
            raise RuntimeError("broken stage")

    log: list[str] = []
    orch, registry, exporter, provider = _orchestrator(log, replace=Broken("intent", log))
    with provider.get_tracer("t").start_as_current_span("request"), \
            pytest.raises(RuntimeError, match="broken stage"):
        [e async for e in orch.run(_ctx())]
    assert "action" not in log
    assert _sample(registry, "lukhas_matriz_pipeline_runs_total", lane="dev",
                   status="failed") == 1
    failed = [s.name for s in exporter.get_finished_spans() if not s.status.is_ok]
    assert failed == ["matriz.intent"]


async def test_spans_a_stage_notes_are_its_children() -> None:
    class Calling(Producer):
        def stream(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
            now = time.time_ns()
            ctx.spans.append(ChildSpan("thought", "upstream.chat_completions", now, now + 1000,
                                       {"lukhas.upstream": "a"}, "5xx"))
            return super().stream(ctx, upstream)

    orch, _, exporter, provider = _orchestrator([], replace=Calling("thought", []))
    with provider.get_tracer("t").start_as_current_span("request"):
        [e async for e in orch.run(_ctx())]
    spans = {s.name: s for s in exporter.get_finished_spans()}
    call = spans["upstream.chat_completions"]
    assert call.parent is not None
    assert call.parent.span_id == spans["matriz.thought"].context.span_id
    assert call.attributes == {"lukhas.upstream": "a"} and not call.status.is_ok
