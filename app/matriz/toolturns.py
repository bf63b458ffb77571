"""Function calls and their outputs as conversation turns.

A turn is `(role, text, source)`; a call is the role `function_call` with the JSON
`{"call_id", "name", "arguments"}` as its text, an output the role `function_call_output`
with `{"call_id", "output"}`. So they are stored, chained and sent on with the rest of the
conversation, and the built-in reasoner (which reads user turns) passes over them.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.core.turns import Turn

CALL = "function_call"
OUTPUT = "function_call_output"


def call_turn(call_id: str, name: str, arguments: str, source: str) -> Turn:
    """The turn of a function call the model made."""
    text = orjson.dumps({"call_id": call_id, "name": name, "arguments": arguments}).decode()
    return Turn(CALL, text, source)


def output_turn(call_id: str, output: Any, source: str) -> Turn:
    """The turn of a function's output, as the caller sent it."""
    return Turn(OUTPUT, orjson.dumps({"call_id": call_id, "output": output}).decode(), source)


def fields(turn: Turn) -> dict[str, Any]:
    """The call or output of a tool turn."""
    value: dict[str, Any] = orjson.loads(turn.text)
    return value
