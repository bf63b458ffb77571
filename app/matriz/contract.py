"""The one contract every MATRIZ stage follows, and what flows between stages.

A stage has three phases, each optional: `before` runs ahead of the answer (in stage order),
`stream` sees the answer's deltas as they pass (each stage's stream wraps the one before
it), and `after` runs once the answer is complete. Memory and Attention work `before`,
Thought produces the stream and Risk filters it, Intent and Action work `after`. Streaming
is therefore the normal path; a non-streamed response is the same stream collected. Only
stages that touch deltas sit in the per-delta path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from app.core.effects import Effect, EffectKind
from app.core.turns import Turn
from app.identity.base import Identity

if TYPE_CHECKING:
    from app.matriz.providers.upstream.call import UpstreamCall
    from app.matriz.retrieval import FileSearch
    from app.matriz.structured import OutputFormat
    from app.matriz.tools.plan import ToolPlan

FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]


ANSWER_KEPT = 500  # characters of an answer the run keeps for reflection and drift


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of the reasoning summary."""

    text: str


# One token's log probability, as OpenAI writes it (chat `ChatCompletionTokenLogprob`, the
# Responses API's `LogProb`): {"token", "logprob", "bytes", "top_logprobs"}.
Logprob = dict[str, Any]


@dataclass(slots=True)
class TextDelta:
    """A piece of the visible answer."""

    text: str
    logprobs: list[Logprob] | None = None  # this piece's tokens, when asked for and given


@dataclass(slots=True)
class RefusalDelta:
    """A piece of the model's refusal (shown instead of an answer)."""

    text: str
    logprobs: list[Logprob] | None = None


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of a function call: its id and name with the first piece, then arguments."""

    index: int  # which call of the answer
    call_id: str | None
    name: str | None
    arguments: str


Event = ReasoningDelta | TextDelta | RefusalDelta | ToolCallDelta


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0


@dataclass(slots=True)
class ChildSpan:
    """A span inside a stage (an upstream call in Thought), recorded once the run ends."""

    stage: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, str | int | float | bool]
    error: str | None = None


@dataclass(slots=True)
class RunContext:
    """One pipeline run: the request, and what the stages learn along the way."""

    identity: Identity
    model: str
    question: str
    history: list[Turn]
    # The text of the files attached to the question, read for a built-in model; they are in
    # `history` too, just before the question, and a session keeps them with it.
    attachments: list[Turn] = field(default_factory=list)
    instructions: str | None = None
    previous_response_id: str | None = None
    conversation_id: str | None = None  # a conversation whose items come before the input
    # The turns of the `previous_response_id` chain, oldest first: given by the caller when it
    # holds them (a WebSocket's connection-local state, Open Responses "WebSocket
    # Continuation"), otherwise read from PostgreSQL by the Memory stage.
    chain: list[Turn] | None = None
    session_id: str | None = None  # working memory to read and extend
    # The chain's turns when its session had none (expired, or never written): a session
    # write then starts from them, so working memory never misses the start of the chain.
    session_seed: list[Turn] | None = None
    max_output_tokens: int | None = None
    truncation: Literal["auto", "disabled"] = "disabled"
    # Effects the caller asked for, in order (app/core/effects.py); Intent allows some of
    # them, Action runs those.
    requested_effects: list[Effect] = field(default_factory=list)
    allowed_effects: list[Effect] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = "stop"
    answer_node: str | None = None
    # Whether validation agreed with the answer (None: nothing checked it; see
    # app/matriz/experience.py), and what the run is about (a response or completion id).
    validated: bool | None = None
    ref: str | None = None
    answer_text: str = ""  # the start of the answer (ANSWER_KEPT characters), for the engines
    redactions: int = 0
    # Whether the caller sees the answer as it comes (a stream, a background response that
    # may be followed); false when it gets it whole, once it has ended.
    streamed: bool = True
    started: float = field(default_factory=time.perf_counter)
    # A routed model: the route and the upstream's parameters (None: a built-in model).
    upstream: UpstreamCall | None = None
    # Long-term recall: whether the Memory stage adds it, and its token budget (None: all).
    recall: bool = True
    recall_max_tokens: int | None = None
    # Logprobs asked for, with this many alternatives a token (None: not asked for); a
    # routed model's upstream gets the request's own fields (`UpstreamCall.params`).
    top_logprobs: int | None = None
    # The request's file_search tool: the Memory stage searches, the answer reads the sources.
    file_search: FileSearch | None = None
    # A built-in model's function tools and the JSON its answer must be (a routed model's
    # upstream gets the request's own fields).
    tools: ToolPlan | None = None
    output_format: OutputFormat | None = None
    spans: list[ChildSpan] = field(default_factory=list)

    def allowed(self, kind: EffectKind) -> bool:
        """Whether Intent allowed an effect of `kind`."""
        return any(effect.kind is kind for effect in self.allowed_effects)


class Stage:
    """A MATRIZ pipeline stage; subclasses override the phases they need."""

    name: str = "stage"

    async def before(self, ctx: RunContext) -> None:
        """Work done before the answer streams."""

    def stream(self, ctx: RunContext, upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """See (pass on, change, hold back or add to) the answer's deltas."""
        return upstream

    async def after(self, ctx: RunContext) -> None:
        """Work done once the answer is complete."""

    def has(self, phase: str) -> bool:
        """True if this stage overrides `phase` ("before", "stream" or "after"); phases it
        leaves alone cost nothing per request."""
        return getattr(type(self), phase) is not getattr(Stage, phase)
