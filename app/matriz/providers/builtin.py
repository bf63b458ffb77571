"""`lukhas-matriz`: the deterministic built-in reasoner (arithmetic, recall, validation)."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Sequence

import anyio.to_thread

from app.matriz.contract import Event, ReasoningDelta, TextDelta
from app.matriz.nodes import reason
from app.matriz.providers.base import ModelCard, ThoughtInput, ThoughtOutcome

MODEL_ID = "lukhas-matriz"
_CREATED = 1767225600  # 2026-01-01, the model's release
_PIECES = re.compile(r"\S+\s*")
# Past this many characters of history (an attached file, a long chain) reasoning takes
# milliseconds to a second: it runs in a worker thread, so the event loop goes on serving.
_THREAD_CHARS = 64_000


class BuiltinProvider:
    """Answers from the nodes in `app.matriz.nodes`, streamed word by word."""

    def __init__(self, context_window: int) -> None:
        self._card = ModelCard(MODEL_ID, _CREATED, "lukhas", context_window)

    def cards(self) -> Sequence[ModelCard]:
        """The one built-in model."""
        return (self._card,)

    async def stream(
        self, inp: ThoughtInput, outcome: ThoughtOutcome
    ) -> AsyncGenerator[Event, None]:
        """Reason, then stream the summary and the answer in word-sized increments."""
        if sum(len(t.text) for t in inp.history) > _THREAD_CHARS:
            answer = await anyio.to_thread.run_sync(reason, inp.question, inp.history)
        else:
            answer = reason(inp.question, inp.history)
        outcome.node = answer.node
        for i, line in enumerate(answer.summary):
            yield ReasoningDelta(("\n" if i else "") + line)
        for piece in _PIECES.findall(answer.text):
            yield TextDelta(piece)
