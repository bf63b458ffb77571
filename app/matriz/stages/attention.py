"""Attention: fit the context into the model's window, and count the input tokens.

With `truncation: "disabled"` (OpenAI's default) an oversized context is a 400; with `"auto"`
the oldest turns are dropped until it fits.
"""

from __future__ import annotations

from collections.abc import Callable

from app.errors import InvalidRequest
from app.matriz.contract import RunContext, Stage
from app.matriz.retrieval import sources_message
from app.matriz.tokenizer import count_tokens
from app.matriz.toolturns import OUTPUT


class AttentionStage(Stage):
    name = "attention"

    def __init__(self, context_window: Callable[[str], int]) -> None:
        self._context_window = context_window

    async def before(self, ctx: RunContext) -> None:
        """Trim or refuse an oversized context; set `usage.input_tokens`."""
        window = self._context_window(ctx.model)
        fixed = count_tokens(ctx.question) + count_tokens(ctx.instructions or "")
        sources = None if ctx.file_search is None else ctx.file_search.found()
        if sources is not None:  # read with the question: never trimmed away
            fixed += count_tokens(sources_message(sources))
        turn_tokens = [count_tokens(t.text) for t in ctx.history]
        total = fixed + sum(turn_tokens)
        if total > window and ctx.truncation == "auto":
            drop = 0
            while drop < len(turn_tokens) and total > window:
                total -= turn_tokens[drop]
                drop += 1
            # A function's output whose call was dropped would answer nothing: it goes too.
            while drop < len(turn_tokens) and ctx.history[drop].role == OUTPUT:
                total -= turn_tokens[drop]
                drop += 1
            del ctx.history[:drop]
        if total > window:
            raise InvalidRequest(
                f"Your input is {total} tokens, over the model's context window of {window} "
                "tokens. Shorten the input, or set truncation to 'auto' to drop the oldest turns.",
                param="input", code="context_length_exceeded",
            )
        ctx.usage.input_tokens = total
