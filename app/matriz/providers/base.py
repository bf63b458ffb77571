"""What a Thought provider is: an async iterator of deltas for one turn."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.matriz.contract import Event
from app.matriz.nodes import Turn


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One entry of `/v1/models`."""

    id: str
    created: int
    owned_by: str
    context_window: int


@dataclass(frozen=True, slots=True)
class ThoughtInput:
    model: str
    instructions: str | None
    history: Sequence[Turn]
    question: str


@dataclass(slots=True)
class ThoughtOutcome:
    """What the provider tells the pipeline about its answer (read after the stream)."""

    node: str | None = None


class Provider(Protocol):
    """Produces an answer as a stream of reasoning and text deltas."""

    def cards(self) -> Sequence[ModelCard]:
        """The models this provider serves."""
        ...

    def stream(self, inp: ThoughtInput, outcome: ThoughtOutcome) -> AsyncGenerator[Event, None]:
        """Stream the answer to `inp`, noting what it did in `outcome`."""
        ...
