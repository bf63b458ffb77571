"""Intent: which of the requested effects this caller may cause, from its scopes."""

from __future__ import annotations

import logging

from app.matriz.contract import RunContext, Stage

log = logging.getLogger("lukhas.matriz.intent")

# The scope each effect needs.
EFFECT_SCOPES = {"store_response": "responses.write"}


class IntentStage(Stage):
    name = "intent"

    async def after(self, ctx: RunContext) -> None:
        """Allow the requested effects whose scope the identity holds."""
        for effect in ctx.requested_effects:
            scope = EFFECT_SCOPES.get(effect)
            if scope is not None and ctx.identity.has_scope(scope):
                ctx.allowed_effects.append(effect)
            else:
                log.info("effect not allowed", extra={"effect": effect, "scope": scope})
