"""Action: carry out the allowed effects (persist the response), then tell the tick."""

from __future__ import annotations

import time

from app.matriz.contract import RunContext, Stage
from app.matriz.tick import CognitiveEvent, Tick


class ActionStage(Stage):
    name = "action"

    def __init__(self, tick: Tick) -> None:
        self._tick = tick

    async def after(self, ctx: RunContext) -> None:
        """Run the effects in the order they were requested; publish the turn."""
        for name in ctx.allowed_effects:
            await ctx.requested_effects[name]()
        self._tick.publish(
            CognitiveEvent(kind="turn", node=ctx.answer_node or "none",
                           seconds=time.perf_counter() - ctx.started)
        )
