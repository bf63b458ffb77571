"""Action: carry out the allowed effects (persist the response), then tell the tick, and
record the run in the experience log: what was meant (intention), what was done (action), a
memory write, and the reflection on the run."""

from __future__ import annotations

import time

from app.core.effects import Effect, EffectKind
from app.matriz.contract import ANSWER_KEPT, ChildSpan, RunContext, Stage
from app.matriz.drift import satisfaction
from app.matriz.experience import ExperienceLog, reflect
from app.matriz.tick import CognitiveEvent, Tick
from app.observability.metrics import Metrics


def _names(effects: list[Effect]) -> list[str]:
    """The effects as the experience log names them (their kinds' values)."""
    return [effect.kind.value for effect in effects]


class ActionStage(Stage):
    name = "action"

    def __init__(self, tick: Tick, experience: ExperienceLog | None = None,
                 metrics: Metrics | None = None) -> None:
        self._tick = tick
        self._experience = experience
        self._reflection = (None if metrics is None or experience is None
                            else metrics.reflection_seconds.labels(lane=experience.lane))

    async def after(self, ctx: RunContext) -> None:
        """Run the effects in the order they were requested; publish the turn; reflect."""
        for effect in ctx.allowed_effects:
            await effect.run()
        self._tick.publish(CognitiveEvent(
            kind="turn", node=ctx.answer_node or "none",
            seconds=time.perf_counter() - ctx.started, model=ctx.model,
            question=ctx.question[:ANSWER_KEPT], answer=ctx.answer_text,
            satisfied=satisfaction(ctx.finish_reason, ctx.validated),
            subject=ctx.identity.subject, ref=ctx.ref,
            wrote_memory=ctx.allowed(EffectKind.WRITE_MEMORY)))
        log = self._experience
        if log is None:
            return
        started = time.perf_counter()
        start_ns = time.time_ns()
        subject, ref = ctx.identity.subject, ctx.ref
        if ctx.requested_effects:
            log.record("intention", subject, ref, {"effects": _names(ctx.requested_effects)})
        if ctx.allowed_effects:
            log.record("action", subject, ref, {"effects": _names(ctx.allowed_effects)})
        if ctx.allowed(EffectKind.WRITE_MEMORY):
            log.record("memory_write", subject, ref, {"model": ctx.model})
        reflection = reflect(ctx)
        log.record("reflection", subject, ref, reflection)
        if self._reflection is not None:
            self._reflection.observe(time.perf_counter() - started)
        ctx.spans.append(ChildSpan("action", "consciousness.reflection", start_ns, time.time_ns(),
                                   {"lukhas.node": reflection["node"]}))
