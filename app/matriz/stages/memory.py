"""Memory: recall what this caller's conversation already holds.

Today: the turns of the `previous_response_id` chain, read from PostgreSQL and scoped to the
caller's subject. Session working memory and long-term memory join here.
"""

from __future__ import annotations

from typing import Any

from app.db.repositories import responses as responses_repo
from app.errors import NotFound
from app.matriz.contract import RunContext, Stage
from app.matriz.nodes import Turn


class MemoryStage(Stage):
    name = "memory"

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def before(self, ctx: RunContext) -> None:
        """Prepend the chain's turns to the history."""
        if ctx.previous_response_id is None:
            return
        async with self._pool.acquire() as conn:
            turns = await responses_repo.chain_turns(
                conn, ctx.identity.subject, ctx.previous_response_id
            )
        if turns is None:
            raise NotFound(
                f"Previous response with id '{ctx.previous_response_id}' not found.",
                param="previous_response_id", code="previous_response_not_found",
            )
        ctx.history[:0] = [Turn(t["role"], t["text"], t["source"]) for t in turns]
