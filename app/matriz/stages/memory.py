"""Memory: recall what this caller's conversation already holds.

Working memory first: the session's recent turns (Redis or in-process), when the request
names a session or continues a chain that has one. Otherwise the turns of the
`previous_response_id` chain from PostgreSQL, which also proves the chain is the caller's
(another's is a 404), unless the caller handed the chain in (`ctx.chain`: a WebSocket's
connection-local state); or the items of the request's conversation, read from PostgreSQL on
every turn (items may be added or deleted between turns), the caller's or a 404. Then
long-term memory: what the caller said in other conversations that is close to the
question (pgvector), when the model wants it (`ctx.recall`; a routed group's
`memory.recall`), best first within its token budget (`memory.max_tokens`), then put in the
order it was said. Every remembered turn carries when it was said, so what was said last
can be told apart wherever it was said. Last, the request's file search, if it has one: the
caller's indexes it names, searched for the question (`app/matriz/retrieval.py`).
Everything is scoped to the caller's subject.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Protocol

from app.core.turns import Turn, turn_from_record
from app.db.repositories import conversations as conversations_repo
from app.db.repositories import responses as responses_repo
from app.errors import NotFound, previous_response_not_found
from app.kv.base import StoreUnavailable
from app.matriz.contract import RunContext, Stage
from app.matriz.conversation_items import history_turns
from app.matriz.retrieval import Searcher
from app.matriz.tokenizer import count_tokens

log = logging.getLogger("lukhas.matriz.memory")


class WorkingMemory(Protocol):
    """A caller's sessions (app/sessions: Redis or in-process), as this stage reads them."""

    async def get(self, subject: str, session_id: str) -> list[Turn] | None:
        """The session's turns, oldest first; None if there is no live session."""
        ...


class LongTermMemory(Protocol):
    """A caller's long-term memory (app/memory/conversations.py), as this stage reads it."""

    async def recall(self, subject: str, question: str) -> list[Turn]:
        """The caller's earlier statements closest to `question`, best first."""
        ...


class MemoryStage(Stage):
    name = "memory"

    def __init__(self, pool: Any, sessions: WorkingMemory,
                 long_term: LongTermMemory | None = None,
                 searcher: Searcher | None = None) -> None:
        self._pool = pool
        self._sessions = sessions
        self._long_term = long_term
        self._searcher = searcher

    async def before(self, ctx: RunContext) -> None:
        """Prepend the remembered turns to the history."""
        chain: list[Turn] = ctx.chain or []
        if ctx.previous_response_id is not None and ctx.chain is None:
            async with self._pool.acquire() as conn:
                found = await responses_repo.chain_turns(
                    conn, ctx.identity.subject, ctx.previous_response_id
                )
            if found is None:
                raise previous_response_not_found(ctx.previous_response_id)
            chain = [turn_from_record(t) for t in found.turns]
            ctx.chain = chain
            ctx.session_id = ctx.session_id or found.session_id
        elif ctx.conversation_id is not None:
            async with self._pool.acquire() as conn:
                items = await conversations_repo.items(
                    conn, ctx.identity.subject, ctx.conversation_id)
            if items is None:
                raise NotFound(f"Conversation with id '{ctx.conversation_id}' not found.",
                               param="conversation", code="conversation_not_found")
            chain = history_turns(ctx.conversation_id, items)
        remembered = await self._session_turns(ctx)
        if remembered is None and ctx.previous_response_id is not None:
            ctx.session_seed = chain
        ctx.history[:0] = remembered if remembered is not None else chain
        if self._long_term is not None and ctx.recall and ctx.question.strip():
            ctx.history[:0] = await self._recall(self._long_term, ctx)
        if ctx.file_search is not None:
            if self._searcher is None:
                raise RuntimeError("a file search needs the Memory stage's searcher")
            await self._searcher.file_search(ctx.identity, ctx.file_search, ctx.question)

    async def _recall(self, long_term: LongTermMemory, ctx: RunContext) -> list[Turn]:
        """The caller's earlier words that bear on the question, from other conversations."""
        try:
            recalled = await long_term.recall(ctx.identity.subject, ctx.question)
        except Exception:
            # Long-term memory adds context; without it the answer still has the rest.
            log.exception("long-term memory unavailable")
            return []
        said = {t.text: i for i, t in enumerate(ctx.history)}  # each text's last place
        kept: list[Turn] = []  # best first
        for turn in recalled:
            if turn.text == ctx.question:
                continue
            i = said.get(turn.text)
            if i is None:
                kept.append(turn)
                continue
            # Already in the conversation: not repeated, but if the caller has said it again
            # since (in another conversation), the conversation's turn takes the later time.
            earlier = ctx.history[i]
            if earlier.at is not None and turn.at is not None and turn.at > earlier.at:
                ctx.history[i] = replace(earlier, at=turn.at)
        budget = ctx.recall_max_tokens
        if budget is not None:
            fitting: list[Turn] = []
            for turn in kept:
                budget -= count_tokens(turn.text)
                if budget < 0:
                    break
                fitting.append(turn)
            kept = fitting
        return sorted(kept, key=lambda t: t.at or 0.0)  # in the order they were said

    async def _session_turns(self, ctx: RunContext) -> list[Turn] | None:
        if ctx.session_id is None:
            return None
        try:
            turns = await self._sessions.get(ctx.identity.subject, ctx.session_id)
        except StoreUnavailable:
            # Working memory is a cache of the conversation: without it, fall back to the chain.
            log.warning("session store unavailable; reading the chain instead")
            return None
        return turns
