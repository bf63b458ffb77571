"""The pipeline's turns → an upstream's chat-completions messages, and its usage back.

The request's own parameters are translated by the API layer (app/api/upstream_params.py),
which knows the request types; this module knows only turns.
https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.core.turns import Turn, is_recalled
from app.errors import InvalidRequest
from app.matriz.contract import Usage
from app.matriz.retrieval import SEARCHED, Source, sources_message
from app.matriz.toolturns import CALL, OUTPUT, fields


def recalled_message(turns: Sequence[Turn]) -> str:
    """Long-term memory, as the system message the upstream reads."""
    lines = "\n".join(f"- {t.text}" for t in turns)
    return ("What the user said in earlier conversations (long-term memory; use it only "
            f"where it helps):\n{lines}")


def messages(instructions: str | None, history: Sequence[Turn], question: str,
             question_parts: list[dict[str, Any]] | None = None,
             sources: Sequence[Source] | None = None) -> list[dict[str, Any]]:
    """The conversation as chat messages: instructions, recalled memory, what the chain's
    earlier file searches found, this one's sources, turns, question. System messages come
    first only: many chat templates refuse one between turns."""
    out: list[dict[str, Any]] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    recalled = [t for t in history if is_recalled(t)]
    if recalled:
        out.append({"role": "system", "content": recalled_message(recalled)})
    searched = [t.text for t in history if t.role == SEARCHED]
    if searched:
        out.append({"role": "system", "content": "\n\n".join(searched)})
    if sources is not None:
        out.append({"role": "system", "content": sources_message(sources)})
    for turn in history:
        if turn.role == SEARCHED:
            continue
        if turn.role == CALL:
            call = fields(turn)
            entry = {"id": call["call_id"], "type": "function",
                     "function": {"name": call["name"], "arguments": call["arguments"]}}
            if out and out[-1]["role"] == "assistant":
                out[-1].setdefault("tool_calls", []).append(entry)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [entry]})
        elif turn.role == OUTPUT:
            result = fields(turn)
            output = result["output"]
            out.append({"role": "tool", "tool_call_id": result["call_id"],
                        "content": output if isinstance(output, str)
                        else _output_parts(output)})
        elif not is_recalled(turn):
            out.append({"role": turn.role, "content": list(turn.parts) or turn.text})
    if question_parts:
        out.append({"role": "user", "content": question_parts})
    elif question:
        out.append({"role": "user", "content": question})
    return out


def _output_parts(output: list[Any]) -> str:
    """A function output given as content parts: its text parts, joined (other parts are
    a 400: a chat `tool` message carries text only)."""
    texts = []
    for part in output:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("input_text", "output_text", "text"):
            raise InvalidRequest(f"A function_call_output may hold only text parts for this "
                                 f"model, not '{kind}'.", param="input",
                                 code="unsupported_content")
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def usage_of(raw: dict[str, Any]) -> Usage:
    """Chat-completions usage (with its details when given) as ours."""
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    return Usage(int(raw.get("prompt_tokens") or 0),
                         int(raw.get("completion_tokens") or 0),
                         int(completion.get("reasoning_tokens") or 0),
                         int(prompt.get("cached_tokens") or 0))
