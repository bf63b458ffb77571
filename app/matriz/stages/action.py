"""Action: carry out the allowed effects (persist the response), then tell the tick."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from app.matriz.contract import Event, RunContext
from app.matriz.tick import CognitiveEvent, Tick


class ActionStage:
    name = "action"

    def __init__(self, tick: Tick) -> None:
        self._tick = tick

    async def run(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """Run the effects in the order they were requested; publish the turn."""
        started = time.perf_counter()
        async for event in upstream:
            yield event
        for name in ctx.allowed_effects:
            await ctx.requested_effects[name]()
        self._tick.publish(
            CognitiveEvent(
                kind="turn", node=ctx.answer_node or "none",
                seconds=time.perf_counter() - started,
            )
        )
