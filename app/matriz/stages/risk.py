"""Risk: the Guardian on the way out, seeing every text delta before the client does, for
the built-in model and upstream ones alike.

Text is released through a holdback window (the answer, the reasoning summary and a refusal
each through their own, one after another): the last `WINDOW` characters stay held, and so
does any match that could still grow or that runs into the held part, so a secret split
across deltas is seen whole before any of it leaves. Held text is scanned once `STEP` more
characters have come (a scan per delta would cost the policy's rules on every token), and
released cut at a white space when it can be, so words go out whole. An answer nobody
watches as it comes (`RunContext.streamed` false: the caller gets it whole) is held whole
and scanned once, each run of a channel's text in one piece; when each kind of its text came
in one piece and no rule finds anything, its events leave as they came, with no window
built (most answers given whole). The rules are the
Guardian's output rules that need no embedding call (`Guardian.scan_fast`); the last
`CONTEXT` characters already sent are scanned again with what is held, so a rule sees the
word boundary or prefix before it.

Enforced (the lane policy): a redact rule's span is replaced before it is released; a block
rule ends the answer with `content_filter` (Responses: `incomplete`; chat: `finish_reason`),
and what was held is never sent. A scan that fails ends the answer the same way (nothing
unchecked leaves). Advisory: the same decisions are logged and audited, and the text passes
unchanged. Every answer with a decision other than allow joins the audit chain. Semantic
rules (an embedding call) read the whole answer once it has ended, off its path.

Function-call arguments pass unchanged: they are JSON for the caller's code, and a
redaction inside them would break it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from app.guardian.clean_texts import OUTPUT
from app.guardian.compiled import CompiledRule, Policy
from app.guardian.decision import (
    CATEGORIES,
    Action,
    Decision,
    Reason,
    decision_record,
    splice,
    strongest,
)
from app.guardian.enforcement import Enforcement
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
from app.observability.logging import request_id_var

log = logging.getLogger("lukhas.guardian")

# Characters held back: more than the longest fixed-length match of an output rule (an IBAN
# written in groups, a card number with spaces); a match of unbounded length is held whole,
# however long, as long as it may still grow.
WINDOW = 64
STEP = 32  # characters more than the window before held text is scanned and released
CONTEXT = 24  # characters already sent, scanned again as the context of what follows


class RiskStage(Stage):
    name = "risk"

    def __init__(self, guardian: Guardian, enforcement: Enforcement | None = None,
                 window: int = WINDOW) -> None:
        """`enforcement` None: enforced, nothing audited (a pipeline without a database)."""
        self._guardian = guardian
        self._enforcement = enforcement
        self._window = window

    @property
    def _enforced(self) -> bool:
        return self._enforcement is None or self._enforcement.enforced

    async def stream(
        self, ctx: RunContext, upstream: AsyncIterator[Event]
    ) -> AsyncIterator[Event]:
        """Release text through the holdback window, redacted or blocked by the policy."""
        policy = self._guardian.policy
        screened = None  # the rules a screen of all the answer's texts left, when made
        if not ctx.streamed:  # nobody watches it come: all of it first, then its checks
            events: list[Event] = []
            failure: Exception | None = None
            try:
                async for event in upstream:
                    events.append(event)
            except Exception as exc:  # the holdback's path meets it where it came
                failure = exc
            if failure is None:
                clean, screened = self._clean(ctx, policy, events)
                if clean:
                    for event in events:
                        yield event
                    return
            upstream = _replayed(events, failure)
        strict = self._enforcement is not None and self._enforcement.strict

        channels: dict[type, _Channel] = {}  # made as their first text comes

        def channel(kind: type) -> _Channel:
            made = channels.get(kind)
            if made is None:
                gate = _Gate(self._guardian, policy, self._window, self._enforced, strict)
                made = channels[kind] = _Channel(gate, _MAKE[kind])
            return made

        # The channels holding text, in the order it came: one at a time where the answer
        # streams; where it is given whole, each until a call comes, or a channel's text
        # comes back after another's (so the order holds), or the answer ends, and then
        # screened together.
        held: list[_Channel] = []
        whole = not ctx.streamed
        # Characters held when they are scanned and released; an answer given whole is
        # scanned once it has all come.
        scan_at = sys.maxsize if whole else self._window + STEP
        ended = False
        async for event in upstream:
            # The answer, the reasoning summary and a refusal, shown to the caller too: a
            # window, a context and offsets of their own each.
            kind = type(event)
            into = channel(kind) if kind in _MAKE else None  # None: a tool call
            # What other channels hold goes first, checked (before a call, all of it).
            if held and held[-1] is not into and (not whole or into is None or into in held):
                for released in self._flush(ctx, held, screened):
                    yield released
                if any(c.gate.ended for c in held):
                    ended = True
                    break
                held = []
            if into is None or isinstance(event, ToolCallDelta):  # a call has no channel
                yield event
                continue
            if into not in held:
                held.append(into)
            into.pending += event.text
            logprobs = getattr(event, "logprobs", None)
            if logprobs is not None:
                into.add(logprobs)
            if len(into.pending) < scan_at:
                continue
            out, cut = into.gate.release(ctx, into.pending, final=False)
            if cut:
                ready, into.pending = into.pending[:cut], into.pending[cut:]
                yield into.delta(into.pending, ready, out)
            if into.gate.ended:
                ended = True
                break
        if not ended and held:
            for released in self._flush(ctx, held, screened):
                yield released
        answer = channel(TextDelta).gate  # the audit's, with what the others found
        for c in channels.values():
            if c.gate is not answer:
                answer.absorb(c.gate)
        await self._record(ctx, answer)

    def _clean(self, ctx: RunContext, policy: Policy, events: list[Event]
               ) -> tuple[bool, Sequence[CompiledRule] | None]:
        """Whether an answer given whole goes out as it came, recorded as allowed: each of
        its kinds of text came in one piece (as the holdback would release it: one scan a
        piece, without context before it), and no output rule finds anything in them. Any
        other answer (a piece empty or in two, a rule's finding, a scan that failed) takes
        the holdback's path, which decides it; with the rules the screen of all its texts
        left, when one was made (they hold every rule a screen of some of them would). A
        text the policy found clean before, whole, is not screened again."""
        texts: list[str] = []
        kinds: set[type] = set()
        answer = ""
        for event in events:
            kind = type(event)
            if kind not in _MAKE or isinstance(event, ToolCallDelta):  # a call, not text
                continue
            text = event.text
            if not text or kind in kinds:
                return False, None
            kinds.add(kind)
            texts.append(text)
            if kind is TextDelta:
                answer = text
        # A text found clean before (a templated answer, a repeated one) is not screened
        # again (app/guardian/clean_texts.py).
        clean = self._guardian.clean
        fresh = []
        for text in texts:  # a loop, not a comprehension: one function less to run (3.11)
            if not clean.holds(policy, OUTPUT, text):
                fresh.append(text)
        if fresh:
            try:
                candidates = policy.candidates_of("output", "text", fresh)
                if candidates and any(
                        self._guardian.reasons_fast(text, direction="output", policy=policy,
                                                    candidates=candidates)
                        for text in fresh):
                    # The screen of some texts holds no rule for the others.
                    return False, candidates if len(fresh) == len(texts) else None
            except Exception:  # the holdback's scan fails the same way, and decides
                return False, None
            for text in fresh:
                clean.add(policy, OUTPUT, text)
        self._counted(ctx, policy, answer, "allow", False)
        return True, None

    def _flush(self, ctx: RunContext, channels: list[_Channel],
               screened: Sequence[CompiledRule] | None = None) -> Iterator[Event]:
        """All that `channels` hold, checked and released in turn, until one ends the answer.
        One screen of their texts together tells the rules that may match any of them (or
        `screened`: those of a screen of the whole answer)."""
        texts = [c.gate.tail + c.pending for c in channels if c.pending]
        candidates = screened
        if candidates is None and len(texts) > 1:
            try:
                candidates = channels[0].gate.policy.candidates_of("output", "text", texts)
            except Exception:  # each channel's own scan then fails closed
                candidates = None
        for c in channels:
            if not (c.pending or c.logprobs):
                continue
            released = c.flush(ctx, candidates)
            if released is not None:
                yield released
            if c.gate.ended:
                return

    def _counted(self, ctx: RunContext, policy: Policy, answer: str, action: Action,
                 flagged: bool) -> Enforcement | None:
        """Count the answer's decision, and hand its text to the semantic rules that only
        log (they read it after it went on); the enforcement, when there is one."""
        enforcement = self._enforcement
        if enforcement is None:
            return None
        if answer and policy.reviewed_later("output", "text"):
            enforcement.review_later(self._guardian, policy, "output",
                                     [("output", "text", answer)],
                                     actor=ctx.identity.subject,
                                     correlation_id=request_id_var.get() or "",
                                     flagged=flagged)
        if action == "allow":
            enforcement.metrics.output_allowed.inc()
        else:
            enforcement.metrics.decisions.labels(enforcement.lane, "output", action).inc()
        return enforcement

    async def _record(self, ctx: RunContext, gate: _Gate) -> None:
        action = "block" if gate.blocked else (
            strongest(r.action for r in gate.reasons) if gate.reasons else "allow")
        if gate.failed:
            action = "block"
        enforcement = self._counted(ctx, gate.policy, "".join(gate.answer), action,
                                    bool(gate.reasons))
        if enforcement is None:
            return
        if gate.failed:
            enforcement.metrics.failures.labels(enforcement.lane, "output").inc()
        if action == "allow":
            return
        decision = Decision(action=action, reasons=tuple(gate.reasons), direction="output",
                            kind="text", policy=gate.policy.label,
                            metrics={"redactions": ctx.redactions, "chars": gate.seen,
                                     "scans": gate.scans})
        enforcement.metrics.found("output", decision)
        record = decision_record(
            decision, correlation_id=request_id_var.get() or "", lane=enforcement.lane,
            emergency_active=enforcement.emergency_active(),
            enforcement_enabled=enforcement.enforced)
        details = {"model": ctx.model, "decision": record}
        if gate.failed:
            details["failure"] = gate.failed
        if not enforcement.enforced:
            log.warning("guardian output decision (advisory, not enforced)",
                        extra={"decision": action})
        await enforcement.record(ctx.identity.subject, f"guardian.output.{action}", details)


@dataclass(slots=True)
class _Gate:
    """One answer's passage through the policy: what was sent, and what was found."""

    guardian: Guardian
    policy: Policy
    window: int
    enforced: bool
    strict: bool
    tail: str = ""  # the last CONTEXT characters sent
    seen: int = 0  # characters of the answer released so far (before redaction)
    scans: int = 0
    reasons: list[Reason] = field(default_factory=list)  # offsets in the answer as written
    answer: list[str] = field(default_factory=list)  # the answer as written, released so far
    blocked: bool = False
    failed: str | None = None
    ended: bool = False  # the answer ends here (enforced: blocked, or the scan failed)

    def _scan(self, text: str,
              candidates: Sequence[CompiledRule] | None = None) -> list[Reason] | None:
        self.scans += 1
        try:
            return self.guardian.reasons_fast(text, direction="output", policy=self.policy,
                                              candidates=candidates)
        except Exception as exc:  # fail closed: nothing unchecked leaves
            self.failed = type(exc).__name__
            log.error("guardian output scan failed: %s", exc)
            return None

    def _action(self, reason: Reason) -> Action:
        """A reason's action here: strict lanes block a category they do not know."""
        if self.strict and reason.category not in CATEGORIES:
            return "block"
        return reason.action

    def release(self, ctx: RunContext, pending: str, *, final: bool,
                candidates: Sequence[CompiledRule] | None = None) -> tuple[str, int]:
        """What of `pending` may leave now, as it leaves, and how many of its characters
        that is. When the answer ends here (`ended`: blocked, or the scan failed, where the
        policy is enforced), that is what lay before the block, checked. `candidates`: the
        rules a screen of this text (with others) left, when one was made."""
        off = len(self.tail)
        reasons = self._scan(self.tail + pending, candidates)
        if reasons is None:
            if self.enforced:
                ctx.finish_reason = "content_filter"
                self.ended = True
                return "", 0
            self.seen += len(pending) if final else 0
            return (pending, len(pending)) if final else ("", 0)
        found = [r for r in reasons if r.end > off]  # those in the part held
        cut = len(pending) if final else _cut(pending, self.window, found, off)
        ready = out = pending[:cut]
        if found:  # most pieces hold nothing to keep, cut out or block
            out, cut = self._enforce(ctx, pending, found, off, cut)
            ready = pending[:cut]
        self.tail = (self.tail + out)[-CONTEXT:]
        self.seen += cut
        self.answer.append(ready)
        return out, cut

    def _enforce(self, ctx: RunContext, pending: str, found: list[Reason], off: int,
                 cut: int) -> tuple[str, int]:
        """What `found` makes of `pending[:cut]`: its reasons kept, a block ending the answer
        before the match (enforced), redact spans replaced; the piece as it leaves and its
        length before redaction."""
        released = [r for r in found if r.start - off < cut]
        self._keep(released, off)
        block = next((r for r in released if self._action(r) == "block"), None)
        if block is not None:
            self.blocked = True
            if self.enforced:
                ctx.finish_reason = "content_filter"
                self.ended = True
                cut = _settle(_at_space(pending, max(block.start - off, 0)), found, off)
                released = [r for r in found if r.start - off < cut]
        out = pending[:cut]
        if self.enforced:
            out, count = _redact(out, [r for r in released if r.action == "redact"], off)
            ctx.redactions += count
        return out, cut

    def absorb(self, other: _Gate) -> None:
        """Take in what another channel's gate found (the reasoning summary's, a refusal's),
        for the audit: its reasons (offsets in that channel's text), its block, its failure."""
        self.reasons.extend(other.reasons)
        self.blocked = self.blocked or other.blocked
        self.failed = self.failed or other.failed
        self.scans += other.scans

    def _keep(self, reasons: Sequence[Reason], off: int) -> None:
        base = self.seen - off
        self.reasons.extend(replace(r, start=max(base + r.start, 0), end=base + r.end)
                            for r in reasons)


def _cut(pending: str, window: int, found: list[Reason], off: int) -> int:
    """How much of `pending` may leave: all but the last `window` characters, back to a white
    space when there is one, and never into a match that runs past the cut or to the end of
    what is held (it may still grow)."""
    return _settle(_at_space(pending, len(pending) - window), found, off, len(pending))


def _at_space(text: str, cut: int) -> int:
    """`cut`, moved back to just after the last white space before it, when there is one."""
    space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    return space + 1 if space >= 0 else cut


def _settle(cut: int, found: list[Reason], off: int, growing: int | None = None) -> int:
    """`cut`, moved back out of every match that runs past it (or to `growing`, the end of
    a text that may still grow)."""
    moved = True
    while moved and cut > 0:
        moved = False
        for r in found:
            start, end = r.start - off, r.end - off
            if start < cut and (end > cut or (growing is not None and end >= growing)):
                cut, moved = max(start, 0), True
    return cut


def _redact(text: str, reasons: list[Reason], off: int) -> tuple[str, int]:
    """`text` (which starts at `off` in the scanned text) with each redact span that lies in
    it replaced; overlapping spans merge and take the first one's replacement."""
    spans = sorted((max(r.start - off, 0), min(r.end - off, len(text)), r.replacement)
                   for r in reasons if r.end - off > 0 and r.start - off < len(text))
    return splice(text, spans)


async def _replayed(events: list[Event], failure: Exception | None) -> AsyncIterator[Event]:
    for event in events:
        yield event
    if failure is not None:
        raise failure


# The events whose text Risk holds back, and how a released piece of each is made again.
_MAKE: dict[type, Callable[[str, list[Logprob] | None], Event]] = {
    TextDelta: TextDelta, ReasoningDelta: lambda text, _: ReasoningDelta(text),
    RefusalDelta: RefusalDelta}


class _Channel:
    """One kind of text Risk holds back (the answer, the reasoning summary, a refusal): its
    gate, what is held, and the logprobs of what is held. A piece goes out with the tokens it
    holds whole (a token cut by the hold goes with the rest of its text); a piece that was
    redacted goes without them, as their tokens would tell what was redacted."""

    __slots__ = ("gate", "logprobs", "make", "pending")
    make: Callable[[str, list[Logprob] | None], Event]

    def __init__(self, gate: _Gate, make: Callable[[str, list[Logprob] | None], Event]) -> None:
        self.gate = gate
        self.make = make  # the event of a released piece: its text and logprobs
        self.pending = ""
        self.logprobs: list[Logprob] | None = None  # None: none were given

    def add(self, logprobs: list[Logprob]) -> None:
        self.logprobs = (self.logprobs or []) + logprobs

    def flush(self, ctx: RunContext,
              candidates: Sequence[CompiledRule] | None = None) -> Event | None:
        """All that is held, checked and released (what lay before a block, when the answer
        ends here: `gate.ended`); None when nothing is."""
        pending, self.pending = self.pending, ""
        out, cut = self.gate.release(ctx, pending, final=True, candidates=candidates)
        if self.gate.ended and not cut:
            return None
        return self.delta(pending[cut:], pending[:cut], out)

    def delta(self, pending: str, ready: str, checked: str) -> Event:
        """The event of `checked` (what the policy made of `ready`), holding back the
        logprobs of `pending`."""
        if self.logprobs is None:
            return self.make(checked, None)
        keep = len(pending)  # the characters still held, at the end of the tokens
        at = len(self.logprobs)
        while at and keep > 0:
            at -= 1
            keep -= len(self.logprobs[at].get("token") or "")
        out, self.logprobs = self.logprobs[:at], self.logprobs[at:]
        return self.make(checked, out if checked == ready else [])
