"""Whether a question asks for a tool: the cosine similarity of the question and the tool's
name and description, embedded by one of the service's embedding models, against that
model's threshold. A question that asks for several things ("…, then …", "…; …") is also
scored clause by clause, each tool by its best clause, so each request in it can match its
own tool. A tool's embedding is kept (tools are sent again with each request)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from app.embeddings.base import Vectors
from app.matriz.tools.plan import ToolSpec
from app.matriz.tools.slots import words

Embed = Callable[[list[str]], Awaitable[Vectors]]
# Set from bench/tool_match.py (12 questions that ask for one of 6 tools in other words,
# 8 that ask for none): with MiniLM a question scores at most 0.24 against a tool it does
# not ask for, and 0.39 to 0.62 against its own when it names what the tool does ("weather",
# "convert", "order"); with the hashing embedder, which sees only shared words and word
# pieces, at most 0.16 against 0.22 to 0.44. Below the threshold the model answers as usual.
THRESHOLDS = {"all-MiniLM-L6-v2": 0.3, "lukhas-hash-v1": 0.2}
DEFAULT_THRESHOLD = 0.3
_CACHED = 4096
_CLAUSES = re.compile(r"[.;!?]+\s+|,?\s+(?:and then|then|and also|also)\s+|,\s+and\s+",
                      re.I)


def tool_text(tool: ToolSpec) -> str:
    """What is embedded of a tool: its name in words, then its description."""
    name = " ".join(words(tool.name))
    return f"{name}: {tool.description}" if tool.description else name


class ToolMatcher:
    """Scores a question against tools with one embedding model."""

    def __init__(self, model: str, embed: Embed, threshold: float | None = None) -> None:
        self.model = model
        self.threshold = THRESHOLDS.get(model, DEFAULT_THRESHOLD) if threshold is None \
            else threshold
        self._embed = embed
        self._tools: dict[str, np.ndarray] = {}

    async def scores(self, question: str, tools: Sequence[ToolSpec]) -> list[float]:
        """The similarity of `question` to each tool, in the tools' order."""
        texts = [tool_text(t) for t in tools]
        new = [t for t in dict.fromkeys(texts) if t not in self._tools]
        clauses = [c for c in _CLAUSES.split(question) if c.strip()]
        asked = [question, *clauses] if len(clauses) > 1 else [question]
        vectors = await self._embed([*asked, *new])
        if len(self._tools) + len(new) > _CACHED:
            self._tools.clear()
        for text, vector in zip(new, vectors[len(asked):], strict=True):
            self._tools[text] = vector
        questions = vectors[: len(asked)]
        return [round(float(np.max(questions @ self._tools[t])), 4) for t in texts]
