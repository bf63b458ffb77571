"""Intent: which of the requested effects this caller may cause, from its scopes."""

from __future__ import annotations

import logging
from typing import assert_never

from app.core.effects import EffectKind
from app.matriz.contract import RunContext, Stage

log = logging.getLogger("lukhas.matriz.intent")


def effect_scopes(kind: EffectKind) -> tuple[str, ...]:
    """The scopes that allow an effect of `kind` (any one of them)."""
    match kind:
        case EffectKind.STORE_RESPONSE | EffectKind.WRITE_CONVERSATION:
            return ("responses.write",)
        case EffectKind.WRITE_SESSION:
            return ("responses.write", "chat")
        case EffectKind.WRITE_MEMORY:
            return ("memory.write",)
        case _:  # a new kind without its scopes is a type error here
            assert_never(kind)


class IntentStage(Stage):
    name = "intent"

    async def after(self, ctx: RunContext) -> None:
        """Allow the requested effects whose scope the identity holds."""
        for effect in ctx.requested_effects:
            scopes = effect_scopes(effect.kind)
            if any(ctx.identity.has_scope(scope) for scope in scopes):
                ctx.allowed_effects.append(effect)
            else:
                log.info("effect not allowed",
                         extra={"effect": effect.kind.value, "scopes": scopes})
