"""What a Thought provider is: an async iterator of deltas for one turn."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from app.core.cards import ModelCard
from app.core.turns import Turn
from app.matriz.contract import ChildSpan, Event, FinishReason, Usage

if TYPE_CHECKING:
    from app.matriz.providers.upstream.call import UpstreamCall
    from app.matriz.retrieval import Source
    from app.matriz.structured import OutputFormat
    from app.matriz.tools.plan import ToolPlan


@dataclass(frozen=True, slots=True)
class ThoughtInput:
    model: str
    instructions: str | None
    history: Sequence[Turn]
    question: str
    call: UpstreamCall | None = None  # a routed model's route and parameters
    top_logprobs: int | None = None  # logprobs asked for (`RunContext.top_logprobs`)
    # What a file search found, best first (None: the request asked for no search).
    sources: Sequence[Source] | None = None
    tools: ToolPlan | None = None  # the function tools it may call, and how
    output_format: OutputFormat | None = None  # the JSON the answer must be (None: text)
    # The caller gets the answer whole, once it has ended (`RunContext.streamed` false): it
    # may come in one delta a kind rather than word by word.
    whole: bool = False


@dataclass(slots=True)
class ThoughtOutcome:
    """What the provider tells the pipeline about its answer (read after the stream)."""

    node: str | None = None
    validated: bool | None = None  # whether validation agreed (None: nothing checked it)
    usage: Usage | None = None  # tokens as the provider counted them, if it did
    finish_reason: FinishReason | None = None  # when the provider, not the limit, ended it
    spans: list[ChildSpan] = field(default_factory=list)


class Provider(Protocol):
    """Produces an answer as a stream of reasoning and text deltas."""

    def cards(self) -> Sequence[ModelCard]:
        """The models this provider serves."""
        ...

    def stream(self, inp: ThoughtInput, outcome: ThoughtOutcome) -> AsyncGenerator[Event, None]:
        """Stream the answer to `inp`, noting what it did in `outcome`."""
        ...
