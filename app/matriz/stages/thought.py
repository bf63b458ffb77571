"""Thought: the provider streams the answer; `max_output_tokens` is enforced here."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.matriz.contract import Event, ReasoningDelta, RunContext, Stage
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.tokenizer import count_tokens, truncate_to_tokens


class ThoughtStage(Stage):
    name = "thought"

    def __init__(self, registry: ProviderRegistry) -> None:
        self._registry = registry

    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        """Stream the provider's deltas, counting output tokens against the limit."""
        _, provider = self._registry.resolve(ctx.model)
        inp = ThoughtInput(ctx.model, ctx.instructions, tuple(ctx.history), ctx.question)
        outcome = ThoughtOutcome()
        limit = ctx.max_output_tokens
        usage = ctx.usage
        stream = provider.stream(inp, outcome)
        try:
            async for event in stream:
                tokens = count_tokens(event.text)
                if limit is not None and usage.output_tokens + tokens > limit:
                    event.text = truncate_to_tokens(event.text, limit - usage.output_tokens)
                    tokens = count_tokens(event.text)
                    ctx.finish_reason = "length"
                usage.output_tokens += tokens
                if isinstance(event, ReasoningDelta):
                    usage.reasoning_tokens += tokens
                if event.text:
                    yield event
                if ctx.finish_reason == "length":
                    break
        finally:
            await stream.aclose()
        ctx.answer_node = outcome.node
