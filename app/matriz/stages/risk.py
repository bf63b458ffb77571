"""Risk: the Guardian on the way out, seeing deltas as they pass.

Text is held back to the last white space so a secret split across deltas is still seen
whole before it is redacted; a block rule ends the answer with `content_filter`. The rules
are the Guardian's output rules that need no embedding call (`Guardian.scan_fast`).
Function-call arguments pass unchanged: they are JSON for the caller's code, and a
redaction inside them would break it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.guardian.engine import Guardian
from app.matriz.contract import (
    Event,
    Logprob,
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

    def __init__(self, guardian: Guardian) -> None:
        self._guardian = guardian

    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        """Redact and block text as it streams."""
        pending = ""
        sent = ""
        held = _Held()
        async for event in upstream:
            if isinstance(event, ReasoningDelta | RefusalDelta):
                event.text, n = self._guardian.scan_fast(
                    event.text, direction="output").redact(event.text)
                ctx.redactions += n
                if n and isinstance(event, RefusalDelta) and event.logprobs:
                    event.logprobs = []  # their tokens would tell what was redacted
                yield event
                continue
            if isinstance(event, ToolCallDelta):
                if pending:  # the text before a call goes first, checked
                    checked = self._check(ctx, sent, pending)
                    if checked is None:
                        return
                    sent = (sent + checked)[-_WINDOW:]
                    yield held.delta("", pending, checked)
                    pending = ""
                yield event
                continue
            pending += event.text
            held.add(event.logprobs)
            cut = max(pending.rfind(" "), pending.rfind("\n"))
            if cut < 0:
                continue
            ready, pending = pending[: cut + 1], pending[cut + 1 :]
            checked = self._check(ctx, sent, ready)
            if checked is None:
                return
            sent = (sent + checked)[-_WINDOW:]
            yield held.delta(pending, ready, checked)
        if pending or held.logprobs:
            checked = self._check(ctx, sent, pending)
            if checked is not None:
                yield held.delta("", pending, checked)

    def _check(self, ctx: RunContext, sent: str, text: str) -> str | None:
        whole = sent + text
        decision = self._guardian.scan_fast(whole, direction="output")
        if decision.blocked:
            ctx.finish_reason = "content_filter"
            return None
        # Only what lies in `text` is changed: `sent` has left already.
        whole, n = decision.redact(whole, since=len(sent))
        ctx.redactions += n
        return whole[len(sent):]


class _Held:
    """The logprobs of the text Risk holds back. A piece goes out with the tokens it holds
    whole (a token cut by the hold goes with the rest of its text); a piece that was
    redacted goes without them, as their tokens would tell what was redacted."""

    __slots__ = ("logprobs",)

    def __init__(self) -> None:
        self.logprobs: list[Logprob] | None = None  # None: none were given

    def add(self, logprobs: list[Logprob] | None) -> None:
        if logprobs is not None:
            self.logprobs = (self.logprobs or []) + logprobs

    def delta(self, pending: str, ready: str, checked: str) -> TextDelta:
        """The delta of `checked` (what the policy made of `ready`), holding back the
        logprobs of `pending`."""
        if self.logprobs is None:
            return TextDelta(checked)
        keep = len(pending)  # the characters still held, at the end of the tokens
        at = len(self.logprobs)
        while at and keep > 0:
            at -= 1
            keep -= len(self.logprobs[at].get("token") or "")
        out, self.logprobs = self.logprobs[:at], self.logprobs[at:]
        return TextDelta(checked, out if checked == ready else [])
