"""Intent: which of the requested effects this caller may cause, from its scopes."""

from __future__ import annotations

import logging

from app.matriz.contract import RunContext, Stage

log = logging.getLogger("lukhas.matriz.intent")

# The scopes that allow each effect (any one of them).
EFFECT_SCOPES = {"store_response": ("responses.write",),
                 "write_conversation": ("responses.write",),
                 "write_session": ("responses.write", "chat"),
                 "write_memory": ("memory.write",)}


class IntentStage(Stage):
    name = "intent"

    async def after(self, ctx: RunContext) -> None:
        """Allow the requested effects whose scope the identity holds."""
        for effect in ctx.requested_effects:
            scopes = EFFECT_SCOPES.get(effect, ())
            if any(ctx.identity.has_scope(scope) for scope in scopes):
                ctx.allowed_effects.append(effect)
            else:
                log.info("effect not allowed", extra={"effect": effect, "scopes": scopes})
