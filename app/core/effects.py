"""The effects a MATRIZ run may cause besides its answer.

A service requests an effect by building one (each kind has its own type, next to what it
writes: `MemoryWrite` in app/memory/conversations.py, `SessionWrite` in
app/sessions/effects.py, ...) and adding it to the run; Intent allows the kinds the caller's
scopes permit, and Action runs the allowed effects in the order they were requested. A kind's
value is the name the experience log records (docs/experience.md): stored, so never renamed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class EffectKind(StrEnum):
    """What an effect does; Intent decides by kind."""

    STORE_RESPONSE = "store_response"
    WRITE_CONVERSATION = "write_conversation"
    WRITE_SESSION = "write_session"
    WRITE_MEMORY = "write_memory"


class Effect(Protocol):
    """One thing a run may cause once its answer is complete."""

    @property
    def kind(self) -> EffectKind:
        """Which kind it is."""
        ...

    async def run(self) -> None:
        """Carry it out (the Action stage calls this once Intent allowed the kind)."""
        ...
