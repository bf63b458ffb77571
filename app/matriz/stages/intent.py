"""Intent: which of the requested effects this caller may cause, from its scopes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from app.matriz.contract import Event, RunContext

log = logging.getLogger("lukhas.matriz.intent")

# The scope each effect needs.
EFFECT_SCOPES = {"store_response": "responses.write"}


class IntentStage:
    name = "intent"

    async def run(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """Allow the requested effects whose scope the identity holds."""
        async for event in upstream:
            yield event
        for effect in ctx.requested_effects:
            scope = EFFECT_SCOPES.get(effect)
            if scope is not None and ctx.identity.has_scope(scope):
                ctx.allowed_effects.append(effect)
            else:
                log.info("effect not allowed", extra={"effect": effect, "scope": scope})
