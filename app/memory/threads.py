"""A conversation's items (the Conversations API) as a response's earlier turns, and the
effect that appends a finished response's items to its conversation.

OpenAI: "Items from this conversation are prepended to input_items for this response
request. Input items and output items from this response are automatically added to this
conversation after this response completes." Read like a `previous_response_id` chain:
messages and function calls become turns (a message keeps its text), reasoning is not
read; system and developer messages stay where they are, as system turns.
https://platform.openai.com/docs/api-reference/responses/create#responses-create-conversation
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from app.core.effects import EffectKind
from app.core.turns import Turn
from app.db.repositories import conversations as repo
from app.matriz.toolturns import call_turn, output_turn

log = logging.getLogger("lukhas.conversations")

_TEXT_PARTS = {"input_text": "text", "output_text": "text", "text": "text",
               "refusal": "refusal"}


def message_text(item: dict[str, Any]) -> str:
    """The text of a stored message (its text and refusal parts, one a line)."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    texts = []
    for part in content or []:
        key = _TEXT_PARTS.get(part.get("type"))
        if key is not None:
            texts.append(str(part.get(key, "")))
    return "\n".join(texts)


def history_turns(conversation_id: str, items: list[dict[str, Any]]) -> list[Turn]:
    """The conversation's items as turns, oldest first; each cites `<conversation> <item>`."""
    turns: list[Turn] = []
    for item in items:
        source = f"{conversation_id} {item['id']}"
        kind = item.get("type", "message")
        if kind == "message":
            role = item["role"] if item["role"] in ("user", "assistant") else "system"
            turns.append(Turn(role, message_text(item), source))
        elif kind == "function_call":
            turns.append(call_turn(item["call_id"], item["name"], item["arguments"], source))
        elif kind == "function_call_output":
            turns.append(output_turn(item["call_id"], item["output"], source))
    return turns


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
