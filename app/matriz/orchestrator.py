"""The MATRIZ orchestrator: one pipeline run per request.

Memory → Attention → Thought → Risk → Intent → Action (see `contract.py` for the phases).
Each stage's own time goes to `lukhas_matriz_stage_seconds{stage,lane}`: its `before` and
`after`, plus the time inside its `stream` less the time inside the stream it wraps. A stage
over its budget is counted. When the request's span is recorded, each stage gets a span
`matriz.<stage>` over its wall-clock extent, with the spans a stage noted inside it
(`ctx.spans`: each upstream call under `matriz.thought`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence

from opentelemetry import context as otel_context
from opentelemetry.trace import (
    Status,
    StatusCode,
    Tracer,
    get_current_span,
    set_span_in_context,
)

from app.matriz.contract import ChildSpan, Event, RunContext, Stage
from app.observability.metrics import Metrics
from app.reliability.meter import request_meter


class _Timed:
    """Wraps a stage's stream, summing the time spent inside `__anext__` (upstream included)."""

    __slots__ = ("inner", "it")

    def __init__(self, it: AsyncIterator[Event]) -> None:
        self.it = it
        self.inner = 0.0

    def __aiter__(self) -> _Timed:
        return self

    async def __anext__(self) -> Event:
        t0 = time.perf_counter()
        try:
            return await self.it.__anext__()
        finally:
            self.inner += time.perf_counter() - t0


class _Run:
    """Per-run bookkeeping: each stage's own seconds and wall-clock extent."""

    __slots__ = ("ended", "failed", "own", "started")

    def __init__(self, n: int) -> None:
        self.failed: int | None = None  # the stage whose before/after raised
        self.own = [0.0] * n
        self.started: list[int | None] = [None] * n
        self.ended: list[int | None] = [None] * n


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
        self._before = [i for i, s in enumerate(self.stages) if s.has("before")]
        self._streaming = [i for i, s in enumerate(self.stages) if s.has("stream")]
        self._after = [i for i, s in enumerate(self.stages) if s.has("after")]
        self._tracer = tracer
        self._lane = lane
        self._budgets = [budget_seconds(s.name) for s in self.stages]
        self._hist = [metrics.stage_seconds.labels(stage=s.name, lane=lane) for s in self.stages]
        self._over = [metrics.stage_over_budget.labels(stage=s.name, lane=lane)
                      for s in self.stages]
        self._runs_ok = metrics.pipeline_runs.labels(lane=lane, status="completed")
        self._runs_failed = metrics.pipeline_runs.labels(lane=lane, status="failed")

    async def _phase(self, run: _Run, i: int, before: bool, ctx: RunContext) -> None:
        stage = self.stages[i]
        if run.started[i] is None:
            run.started[i] = time.time_ns()
        t0 = time.perf_counter()
        try:
            await (stage.before(ctx) if before else stage.after(ctx))
        except BaseException:
            run.failed = i
            raise
        finally:
            run.own[i] += time.perf_counter() - t0
            run.ended[i] = time.time_ns()

    async def start(self, ctx: RunContext) -> tuple[AsyncGenerator[Event, None], Event | None]:
        """Run up to the first event, so that what fails before the answer starts (a missing
        previous response, an oversized context) raises before any byte of a stream is sent.
        Returns the stream and its first event (None for an empty answer)."""
        events = self.run(ctx)
        try:
            return events, await anext(events)
        except StopAsyncIteration:
            return events, None
        except BaseException:
            await events.aclose()
            raise

    async def run(self, ctx: RunContext) -> AsyncGenerator[Event, None]:
        """Stream the answer's events; stage metrics are recorded when the run ends."""
        parent = otel_context.get_current()
        # Stage spans only when the request's own span is recorded (sampled and exported).
        traced = get_current_span(parent).is_recording()
        run = _Run(len(self.stages))
        timed: list[tuple[int, _Timed]] = []
        error: BaseException | None = None
        try:
            for i in self._before:
                await self._phase(run, i, True, ctx)
            stream: AsyncIterator[Event] = _empty()
            for i in self._streaming:
                run.started[i] = run.started[i] or time.time_ns()
                stream = _Timed(self.stages[i].stream(ctx, stream))
                timed.append((i, stream))
            try:
                async for event in stream:
                    yield event
            finally:
                # Close the streams explicitly, outermost first, so their cleanup runs now
                # and not whenever the garbage collector reaches an abandoned generator.
                upstream_inner = 0.0
                for i, t in timed:
                    run.own[i] += t.inner - upstream_inner
                    upstream_inner = t.inner
                    run.ended[i] = time.time_ns()
                for _, t in reversed(timed):
                    aclose = getattr(t.it, "aclose", None)
                    if aclose is not None:
                        await aclose()
            for i in self._after:
                await self._phase(run, i, False, ctx)
        except BaseException as exc:
            error = exc
            raise
        finally:
            meter = request_meter.get()
            if meter is not None:
                meter.add(ctx.usage.input_tokens + ctx.usage.output_tokens)
            self._record(run, parent if traced else None, error, ctx.spans)

    def _record(
        self, run: _Run, parent: otel_context.Context | None, error: BaseException | None,
        children: list[ChildSpan],
    ) -> None:
        for i, stage in enumerate(self.stages):
            own = run.own[i]
            self._hist[i].observe(own)
            if own > self._budgets[i]:
                self._over[i].inc()
            started = run.started[i]
            if parent is None or started is None:
                continue
            span = self._tracer.start_span(
                f"matriz.{stage.name}", context=parent, start_time=started,
                attributes={"lukhas.lane": self._lane, "lukhas.stage_seconds": own},
            )
            if error is not None and run.failed == i:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            for child in children:
                if child.stage == stage.name:
                    inner = self._tracer.start_span(
                        child.name, context=set_span_in_context(span),
                        start_time=child.start_ns, attributes=child.attributes)
                    if child.error is not None:
                        inner.set_status(Status(StatusCode.ERROR, child.error))
                    inner.end(end_time=child.end_ns)
            span.end(end_time=run.ended[i] or time.time_ns())
        (self._runs_failed if error is not None else self._runs_ok).inc()
