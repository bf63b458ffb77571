"""A conversation's items (the Conversations API) as a response's earlier turns.

OpenAI: "Items from this conversation are prepended to input_items for this response
request." Read like a `previous_response_id` chain: messages and function calls become turns
(a message keeps its text), reasoning is not read; system and developer messages stay where
they are, as system turns. The Memory stage reads them on every turn of the conversation;
app/memory/threads.py adds a finished response's items.
https://platform.openai.com/docs/api-reference/responses/create#responses-create-conversation
"""

from __future__ import annotations

from typing import Any

from app.core.turns import Turn
from app.matriz.toolturns import call_turn, output_turn

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
