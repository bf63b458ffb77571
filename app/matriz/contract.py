"""The one contract every MATRIZ stage follows, and what flows between stages.

A stage is an async stream transformer: it drains its upstream (passing on, changing or
holding back the events), then does its own tail work. Composed as
`action(intent(risk(thought(attention(memory(∅))))))`, pulling the outermost stage runs
Memory's work first, then Attention's, then Thought streams its deltas through Risk, and
Intent and Action finish once the answer is complete. Streaming is therefore the normal
path; a non-streamed response is the same stream collected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from app.identity.base import Identity
from app.matriz.nodes import Turn

FinishReason = Literal["stop", "length", "content_filter"]
Effect = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of the reasoning summary."""

    text: str


@dataclass(slots=True)
class TextDelta:
    """A piece of the visible answer."""

    text: str


Event = ReasoningDelta | TextDelta


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(slots=True)
class RunContext:
    """One pipeline run: the request, and what the stages learn along the way."""

    identity: Identity
    model: str
    question: str
    history: list[Turn]
    instructions: str | None = None
    previous_response_id: str | None = None
    max_output_tokens: int | None = None
    truncation: Literal["auto", "disabled"] = "disabled"
    # Effects the caller asked for, by name; Intent decides which may run, Action runs them.
    requested_effects: dict[str, Effect] = field(default_factory=dict)
    allowed_effects: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    answer_node: str | None = None
    redactions: int = 0


class Stage(Protocol):
    """A MATRIZ pipeline stage."""

    name: str

    def run(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """Transform the upstream events, then do this stage's own work."""
        ...
