"""`lukhas-matriz`: the deterministic built-in reasoner (arithmetic, recall, validation),
which also calls the request's function tools and answers as JSON when asked to."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Sequence

import anyio.to_thread

from app.core.cards import ModelCard
from app.core.turns import Turn
from app.errors import InvalidRequest
from app.ids import new_id
from app.matriz.contract import Event, ReasoningDelta, TextDelta, ToolCallDelta
from app.matriz.nodes import Answer, reason
from app.matriz.nodes.validation import agreed
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.structured import render
from app.matriz.tokenizer import certain_logprobs
from app.matriz.tools.decide import Decision, asked, decide, from_outputs, pending_outputs
from app.matriz.tools.match import ToolMatcher
from app.matriz.tools.plan import ToolPlan

MODEL_ID = "lukhas-matriz"
_CREATED = 1767225600  # 2026-01-01, the model's release
_PIECES = re.compile(r"\S+\s*")
# A JSON text streams a string or a run of punctuation at a time.
_JSON_PIECES = re.compile(r'"(?:[^"\\]|\\.)*"|[^"]+')
# Past this many characters of history (an attached file, a long chain) reasoning takes
# milliseconds to a second: it runs in a worker thread, so the event loop goes on serving.
_THREAD_CHARS = 64_000


class BuiltinProvider:
    """Answers from the nodes in `app.matriz.nodes`, streamed word by word; calls tools
    (`app.matriz.tools`) that the question matches by `matcher`."""

    def __init__(self, context_window: int, matcher: ToolMatcher | None = None) -> None:
        self._card = ModelCard(MODEL_ID, _CREATED, "lukhas", context_window)
        self._matcher = matcher

    def cards(self) -> Sequence[ModelCard]:
        """The one built-in model."""
        return (self._card,)

    async def _decide(self, plan: ToolPlan, question: str) -> Decision:
        if plan.forced is not None or self._matcher is None:
            return decide(plan, question, None, 1.0)
        scores = await self._matcher.scores(question, plan.tools)
        return decide(plan, question, scores, self._matcher.threshold)

    async def stream(
        self, inp: ThoughtInput, outcome: ThoughtOutcome
    ) -> AsyncGenerator[Event, None]:
        """Reason (or call tools), then stream the summary and the answer in word-sized
        increments (each with its tokens' logprobs, when asked for: all certain, the model
        being deterministic), or each in one piece when it is given whole without them.
        Whatever makes the request a 400 (a required call it cannot make, a schema it
        cannot fill) is raised before the first event."""
        for turn in inp.history:
            if turn.parts:  # a routed model's conversation continued here
                raise InvalidRequest(
                    f"The model '{MODEL_ID}' accepts text only; an earlier turn "
                    f"({turn.source}) holds an image or a file.", param="input",
                    code="unsupported_content")
        plan = inp.tools
        outputs = pending_outputs(inp.history) if not inp.question.strip() else []
        decision = None
        # Given a tool's output, the model answers from it unless a call is required.
        if plan is not None and plan.mode != "none" and (plan.mode == "required"
                                                         or not outputs):
            decision = await self._decide(plan, inp.question if not outputs
                                          else asked(inp.history))
        if decision is not None and decision.calls:
            outcome.node = "tools"
            for line in _lines(decision.notes, inp.whole):
                yield ReasoningDelta(line)
            for index, call in enumerate(decision.calls):
                pieces = ([call.arguments] if inp.whole
                          else _JSON_PIECES.findall(call.arguments) or [""])
                yield ToolCallDelta(index, new_id("call_"), call.tool.name, pieces[0])
                for piece in pieces[1:]:
                    yield ToolCallDelta(index, None, None, piece)
            outcome.finish_reason = "tool_calls"
            return
        answer = await self._answer(inp, decision, outputs)
        text = answer.text if inp.output_format is None else render(inp.output_format, answer)
        outcome.node = answer.node
        outcome.validated = agreed(answer)
        top = inp.top_logprobs
        for line in _lines(answer.summary, inp.whole):
            yield ReasoningDelta(line)
        if inp.whole and top is None:  # nobody watches it come: in one piece
            if text:
                yield TextDelta(text)
            return
        split = _PIECES if inp.output_format is None else _JSON_PIECES
        for piece in split.findall(text):
            yield TextDelta(piece, None if top is None else certain_logprobs(piece, top))

    async def _answer(self, inp: ThoughtInput, decision: Decision | None,
                      outputs: list[Turn]) -> Answer:
        """What the model says: why a matched tool was not called, an answer from the
        tools' outputs, or the reasoner's answer (after the tool notes, if any)."""
        if decision is not None and decision.answer is not None:
            return decision.answer
        if outputs:
            return from_outputs(outputs, inp.history)
        if sum(len(t.text) for t in inp.history) > _THREAD_CHARS:
            answer = await anyio.to_thread.run_sync(reason, inp.question, inp.history,
                                                    inp.sources)
        else:
            answer = reason(inp.question, inp.history, inp.sources)
        if decision is not None and decision.notes:
            return Answer(answer.text, (*decision.notes, *answer.summary), answer.node,
                          answer.citations, answer.finding)
        return answer


def _lines(lines: Sequence[str], whole: bool) -> list[str]:
    """The deltas of a summary's lines: one a line, or all of them in one."""
    if whole:
        return ["\n".join(lines)] if lines else []
    return [("\n" if i else "") + line for i, line in enumerate(lines)]
