"""`lukhas-matriz`: the deterministic built-in reasoner (arithmetic, recall, validation)."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Sequence

import anyio.to_thread

from app.errors import InvalidRequest
from app.matriz.contract import Event, ReasoningDelta, TextDelta
from app.matriz.nodes import reason
from app.matriz.nodes.validation import agreed
from app.matriz.providers.base import ModelCard, ThoughtInput, ThoughtOutcome
from app.matriz.tokenizer import certain_logprobs

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
        """Reason, then stream the summary and the answer in word-sized increments (each with
        its tokens' logprobs, when asked for: all certain, the model being deterministic)."""
        for turn in inp.history:
            if turn.parts:  # a routed model's conversation continued here
                raise InvalidRequest(
                    f"The model '{MODEL_ID}' accepts text only; an earlier turn "
                    f"({turn.source}) holds an image or a file.", param="input",
                    code="unsupported_content")
        if sum(len(t.text) for t in inp.history) > _THREAD_CHARS:
            answer = await anyio.to_thread.run_sync(reason, inp.question, inp.history,
                                                    inp.sources)
        else:
            answer = reason(inp.question, inp.history, inp.sources)
        outcome.node = answer.node
        outcome.validated = agreed(answer)
        for i, line in enumerate(answer.summary):
            yield ReasoningDelta(("\n" if i else "") + line)
        top = inp.top_logprobs
        for piece in _PIECES.findall(answer.text):
            yield TextDelta(piece, None if top is None else certain_logprobs(piece, top))
