"""Thought: the provider streams the answer; `max_output_tokens` is enforced here.

A routed model's upstream enforces the limit itself (it gets `max_tokens`) and counts its own
tokens: its usage and finish reason replace ours once its answer is complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.matriz.contract import (
    ANSWER_KEPT,
    Event,
    ReasoningDelta,
    RunContext,
    Stage,
    ToolCallDelta,
)
from app.matriz.drift import DriftEngine
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.tokenizer import certain_logprobs, count_tokens, truncate_to_tokens


class ThoughtStage(Stage):
    name = "thought"

    def __init__(self, registry: ProviderRegistry, drift: DriftEngine | None = None) -> None:
        self._registry = registry
        self._drift = drift

    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        """Stream the provider's deltas, counting output tokens against the limit."""
        _, provider = self._registry.resolve(ctx.model)
        if self._drift is not None:
            self._drift.check(ctx.model)
        searched = ctx.file_search
        inp = ThoughtInput(ctx.model, ctx.instructions, tuple(ctx.history), ctx.question,
                           ctx.upstream, ctx.top_logprobs,
                           None if searched is None else searched.found(), ctx.tools,
                           ctx.output_format, not ctx.streamed)
        outcome = ThoughtOutcome(spans=ctx.spans)
        limit = None if ctx.upstream is not None else ctx.max_output_tokens
        usage = ctx.usage
        stream = provider.stream(inp, outcome)
        try:
            async for event in stream:
                if isinstance(event, ToolCallDelta):
                    usage.output_tokens += count_tokens(event.arguments)
                    yield event
                    continue
                tokens = count_tokens(event.text)
                if limit is not None and usage.output_tokens + tokens > limit:
                    event.text = truncate_to_tokens(event.text, limit - usage.output_tokens)
                    tokens = count_tokens(event.text)
                    ctx.finish_reason = "length"
                    if not isinstance(event, ReasoningDelta) and event.logprobs is not None:
                        # Only the built-in model has a limit here: its logprobs are of
                        # its own tokens, one each, so they are cut where the text is.
                        event.logprobs = certain_logprobs(event.text, ctx.top_logprobs or 0)
                usage.output_tokens += tokens
                if isinstance(event, ReasoningDelta):
                    usage.reasoning_tokens += tokens
                if not isinstance(event, ReasoningDelta) and len(ctx.answer_text) < ANSWER_KEPT:
                    ctx.answer_text += event.text[: ANSWER_KEPT - len(ctx.answer_text)]
                if event.text or (not isinstance(event, ReasoningDelta) and event.logprobs):
                    yield event
                if ctx.finish_reason == "length":
                    break
        finally:
            await stream.aclose()
        ctx.answer_node = outcome.node
        ctx.validated = outcome.validated
        if outcome.finish_reason is not None:
            ctx.finish_reason = outcome.finish_reason
        counted = outcome.usage
        if counted is not None:
            usage.input_tokens = counted.input_tokens
            usage.output_tokens = counted.output_tokens
            usage.reasoning_tokens = counted.reasoning_tokens
            usage.cached_tokens = counted.cached_tokens
