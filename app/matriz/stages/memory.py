"""Memory: recall what this caller's conversation already holds.

Working memory first: the session's recent turns (Redis or in-process), when the request
names a session or continues a chain that has one. Otherwise the turns of the
`previous_response_id` chain from PostgreSQL, which also proves the chain is the caller's
(another's is a 404), unless the caller handed the chain in (`ctx.chain`: a WebSocket's
connection-local state). Then long-term memory: what the caller said in other conversations
that is close to the question (pgvector), when the model wants it (`ctx.recall`; a routed
group's `memory.recall`), best first within its token budget (`memory.max_tokens`).
Everything is scoped to the caller's subject.
"""

from __future__ import annotations

import logging
from typing import Any

from app.db.repositories import responses as responses_repo
from app.errors import NotFound
from app.kv.base import StoreUnavailable
from app.matriz.contract import RunContext, Stage
from app.matriz.nodes import Turn
from app.matriz.tokenizer import count_tokens
from app.memory.conversations import ConversationMemory
from app.sessions.base import SessionStore

log = logging.getLogger("lukhas.matriz.memory")


class MemoryStage(Stage):
    name = "memory"

    def __init__(self, pool: Any, sessions: SessionStore,
                 long_term: ConversationMemory | None = None) -> None:
        self._pool = pool
        self._sessions = sessions
        self._long_term = long_term

    async def before(self, ctx: RunContext) -> None:
        """Prepend the remembered turns to the history."""
        chain: list[Turn] = ctx.chain or []
        if ctx.previous_response_id is not None and ctx.chain is None:
            async with self._pool.acquire() as conn:
                found = await responses_repo.chain_turns(
                    conn, ctx.identity.subject, ctx.previous_response_id
                )
            if found is None:
                raise NotFound(
                    f"Previous response with id '{ctx.previous_response_id}' not found.",
                    param="previous_response_id", code="previous_response_not_found",
                )
            chain = [Turn(t["role"], t["text"], t["source"]) for t in found.turns]
            ctx.chain = chain
            ctx.session_id = ctx.session_id or found.session_id
        remembered = await self._session_turns(ctx)
        if remembered is None and ctx.previous_response_id is not None:
            ctx.session_seed = chain
        ctx.history[:0] = remembered if remembered is not None else chain
        if self._long_term is not None and ctx.recall and ctx.question.strip():
            ctx.history[:0] = await self._recall(self._long_term, ctx)

    async def _recall(self, long_term: ConversationMemory, ctx: RunContext) -> list[Turn]:
        """The caller's earlier words that bear on the question, from other conversations."""
        try:
            recalled = await long_term.recall(ctx.identity.subject, ctx.question)
        except Exception:
            # Long-term memory adds context; without it the answer still has the rest.
            log.exception("long-term memory unavailable")
            return []
        seen = {t.text for t in ctx.history} | {ctx.question}
        kept = [t for t in recalled if t.text not in seen]  # best first
        budget = ctx.recall_max_tokens
        if budget is not None:
            fitting: list[Turn] = []
            for turn in kept:
                budget -= count_tokens(turn.text)
                if budget < 0:
                    break
                fitting.append(turn)
            kept = fitting
        return kept[::-1]

    async def _session_turns(self, ctx: RunContext) -> list[Turn] | None:
        if ctx.session_id is None:
            return None
        try:
            turns = await self._sessions.get(ctx.identity.subject, ctx.session_id)
        except StoreUnavailable:
            # Working memory is a cache of the conversation: without it, fall back to the chain.
            log.warning("session store unavailable; reading the chain instead")
            return None
        return None if turns is None else [Turn(t.role, t.text, t.source) for t in turns]
