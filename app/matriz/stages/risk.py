"""Risk: the Guardian on the way out, seeing deltas as they pass.

Text is held back to the last white space so a secret split across deltas is still seen
whole before it is redacted; a block rule ends the answer with `content_filter`.
Function-call arguments pass unchanged: they are JSON for the caller's code, and a
redaction inside them would break it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.guardian.output_policy import OutputPolicy
from app.matriz.contract import (
    Event,
    ReasoningDelta,
    RefusalDelta,
    RunContext,
    Stage,
    TextDelta,
    ToolCallDelta,
)

_WINDOW = 256  # characters of already-sent text a block rule may look back over


class RiskStage(Stage):
    name = "risk"

    def __init__(self, policy: OutputPolicy) -> None:
        self._policy = policy

    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        """Redact and block text as it streams."""
        pending = ""
        sent = ""
        async for event in upstream:
            if isinstance(event, ReasoningDelta | RefusalDelta):
                event.text, n = self._policy.apply(event.text)
                ctx.redactions += n
                yield event
                continue
            if isinstance(event, ToolCallDelta):
                if pending:  # the text before a call goes first, checked
                    checked = self._check(ctx, sent, pending)
                    if checked is None:
                        return
                    sent, pending = (sent + checked)[-_WINDOW:], ""
                    yield TextDelta(checked)
                yield event
                continue
            pending += event.text
            cut = max(pending.rfind(" "), pending.rfind("\n"))
            if cut < 0:
                continue
            ready, pending = pending[: cut + 1], pending[cut + 1 :]
            checked = self._check(ctx, sent, ready)
            if checked is None:
                return
            sent = (sent + checked)[-_WINDOW:]
            yield TextDelta(checked)
        if pending:
            checked = self._check(ctx, sent, pending)
            if checked is not None:
                yield TextDelta(checked)

    def _check(self, ctx: RunContext, sent: str, text: str) -> str | None:
        if self._policy.blocked_by(sent + text):
            ctx.finish_reason = "content_filter"
            return None
        text, n = self._policy.apply(text)
        ctx.redactions += n
        return text
