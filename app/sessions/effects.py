"""The effect that extends a session's working memory with the turn just answered."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from app.core.effects import EffectKind
from app.core.turns import Turn
from app.errors import InvalidRequest
from app.kv.base import StoreUnavailable
from app.matriz.contract import RunContext
from app.matriz.retrieval import found_turn
from app.sessions.base import SESSION_ID, SessionStore

log = logging.getLogger("lukhas.sessions")


def check_session_id(value: str | None) -> str | None:
    """The `x-lukhas-session` header, validated."""
    if value is not None and not SESSION_ID.match(value):
        raise InvalidRequest("x-lukhas-session must be 1-128 characters of [A-Za-z0-9._:-].",
                             param="x-lukhas-session", code="invalid_session_id")
    return value


@dataclass(frozen=True, slots=True)
class SessionWrite:
    """The effect that appends the question, what a file search found for it, and the
    answer to the session that `session_id()` names (read once the answer is complete: the
    Memory stage may find the session on the chain, and seed it)."""

    sessions: SessionStore
    ctx: RunContext
    answer: Callable[[], str]
    source: str  # what the turns cite: the response or completion id
    session_id: Callable[[], str | None]
    kind: ClassVar[EffectKind] = EffectKind.WRITE_SESSION

    async def run(self) -> None:
        """Extend the session (or start it from the chain's turns)."""
        sid = self.session_id()
        if sid is None:
            return
        ctx, source = self.ctx, self.source
        now = time.time()
        turns = [Turn(t.role, t.text, f"{source} {t.source}", at=now, file=t.file)
                 for t in ctx.attachments]
        parts = tuple((ctx.upstream.question_parts or ()) if ctx.upstream else ())
        if ctx.question or parts:
            turns.append(Turn("user", ctx.question, f"{source} input", parts, now))
        searched = None if ctx.file_search is None else found_turn(ctx.file_search,
                                                                   f"{source} output")
        if searched is not None:
            turns.append(Turn(searched.role, searched.text, searched.source, at=now))
        turns.append(Turn("assistant", self.answer(), f"{source} output", at=now))
        try:
            if ctx.session_seed is not None:
                await self.sessions.put(ctx.identity.subject, sid, ctx.session_seed + turns)
            else:
                await self.sessions.append(ctx.identity.subject, sid, turns)
        except StoreUnavailable:
            # The response is stored in PostgreSQL all the same; the chain remains readable.
            log.warning("session store unavailable; working memory not extended")
