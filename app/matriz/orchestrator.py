"""The MATRIZ orchestrator: one pipeline run per request.

Memory → Attention → Thought → Risk → Intent → Action, composed as stream transformers
(see `contract.py`). Each stage's own time (time inside it, less time inside its upstream)
goes to `lukhas_matriz_stage_seconds{stage,lane}`; a stage over its budget is counted; each
gets a span `matriz.<stage>` covering its wall-clock extent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence

from opentelemetry import context as otel_context
from opentelemetry.trace import Status, StatusCode, Tracer

from app.matriz.contract import Event, RunContext, Stage
from app.observability.metrics import Metrics


class _Timed:
    """Wraps a stage's stream, summing the time spent inside `__anext__` (upstream included)."""

    __slots__ = ("ended_ns", "inner", "it", "started_ns")

    def __init__(self, it: AsyncIterator[Event]) -> None:
        self.it = it
        self.inner = 0.0
        self.started_ns: int | None = None
        self.ended_ns: int | None = None

    def __aiter__(self) -> _Timed:
        return self

    async def __anext__(self) -> Event:
        if self.started_ns is None:
            self.started_ns = time.time_ns()
        t0 = time.perf_counter()
        try:
            return await self.it.__anext__()
        except StopAsyncIteration:
            self.ended_ns = time.time_ns()
            raise
        finally:
            self.inner += time.perf_counter() - t0


async def _empty() -> AsyncIterator[Event]:
    return
    yield  # pragma: no cover - makes this an async generator


class Orchestrator:
    """Runs the stages for one request and records how each did."""

    def __init__(
        self, stages: Sequence[Stage], metrics: Metrics, tracer: Tracer, lane: str,
        budget_seconds: Callable[[str], float],
    ) -> None:
        self.stages = tuple(stages)
        self._tracer = tracer
        self._lane = lane
        self._budgets = [budget_seconds(s.name) for s in self.stages]
        self._hist = [metrics.stage_seconds.labels(stage=s.name, lane=lane) for s in self.stages]
        self._over = [metrics.stage_over_budget.labels(stage=s.name, lane=lane)
                      for s in self.stages]
        self._runs_ok = metrics.pipeline_runs.labels(lane=lane, status="completed")
        self._runs_failed = metrics.pipeline_runs.labels(lane=lane, status="failed")

    async def run(self, ctx: RunContext) -> AsyncGenerator[Event, None]:
        """Stream the answer's events; stage metrics are recorded when the run ends."""
        parent = otel_context.get_current()
        timed: list[_Timed] = []
        stream: AsyncIterator[Event] = _empty()
        for stage in self.stages:
            wrapped = _Timed(stage.run(ctx, stream))
            timed.append(wrapped)
            stream = wrapped
        error: BaseException | None = None
        try:
            async for event in stream:
                yield event
        except BaseException as exc:
            error = exc
            raise
        finally:
            # Close every stage explicitly, outermost first, so their cleanup runs now and
            # not whenever the garbage collector reaches an abandoned generator.
            for t in reversed(timed):
                aclose = getattr(t.it, "aclose", None)
                if aclose is not None:
                    await aclose()
            self._record(timed, parent, error)

    def _record(
        self, timed: list[_Timed], parent: otel_context.Context, error: BaseException | None
    ) -> None:
        upstream_inner = 0.0
        for i, t in enumerate(timed):
            own = max(0.0, t.inner - upstream_inner)
            upstream_inner = t.inner
            self._hist[i].observe(own)
            if own > self._budgets[i]:
                self._over[i].inc()
            if t.started_ns is None:
                continue
            span = self._tracer.start_span(
                f"matriz.{self.stages[i].name}", context=parent, start_time=t.started_ns,
                attributes={"lukhas.lane": self._lane, "lukhas.stage_seconds": own},
            )
            if t.ended_ns is None and error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end(end_time=t.ended_ns or time.time_ns())
        (self._runs_failed if error is not None else self._runs_ok).inc()
