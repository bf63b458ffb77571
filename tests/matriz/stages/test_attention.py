"""Attention: `truncation: "auto"` drops the oldest turns, never leaving an answerless output."""

from __future__ import annotations

from app.core.turns import Turn
from app.identity.base import Identity
from app.matriz.contract import RunContext
from app.matriz.stages.attention import AttentionStage
from app.matriz.tokenizer import count_tokens
from app.matriz.toolturns import call_turn, output_turn


async def test_auto_truncation_drops_a_call_and_its_output_together() -> None:
    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    history = [Turn("user", "word " * 40, "input 1"),
               call_turn("c1", "f", "{}", "input 2"), output_turn("c1", "ok", "input 3"),
               Turn("assistant", "fine", "input 4")]
    ctx = RunContext(identity=who, model="m", question="and now?", history=list(history),
                     truncation="auto")
    # The window fits the question, the output and the last turn: dropping the oldest turns
    # stops right after the call, and its output goes with it.
    window = sum(count_tokens(t) for t in ("and now?", history[2].text, "fine"))
    await AttentionStage(lambda _: window).before(ctx)
    assert ctx.history == history[3:]
