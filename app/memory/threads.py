"""The effect that appends a finished response's items to its conversation.

OpenAI: "Input items and output items from this response are automatically added to this
conversation after this response completes." (app/matriz/conversation_items.py reads them
back as turns.)
https://platform.openai.com/docs/api-reference/responses/create#responses-create-conversation
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from app.core.effects import EffectKind
from app.db.repositories import conversations as repo

log = logging.getLogger("lukhas.conversations")


@dataclass(frozen=True, slots=True)
class ConversationWrite:
    """The effect that appends the response's input, then output, items to the
    conversation. An item already there (sent again as input) stays where it was."""

    pool: Any
    subject: str
    conversation_id: str
    input_items: list[dict[str, Any]]
    output_items: Callable[[], list[dict[str, Any]]]  # read once the answer is complete
    kind: ClassVar[EffectKind] = EffectKind.WRITE_CONVERSATION

    async def run(self) -> None:
        """Append the items."""
        items = [*self.input_items, *self.output_items()]
        async with self.pool.acquire() as conn:
            added = await repo.append(conn, self.subject, self.conversation_id, items,
                                      skip_existing=True)
        if not added:
            # Deleted while the response ran: there is nothing left to extend.
            log.warning("conversation gone before its response finished",
                        extra={"conversation_id": self.conversation_id})
