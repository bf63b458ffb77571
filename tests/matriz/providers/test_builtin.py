"""The built-in provider streams the reasoner's answer; a long history is reasoned on a
worker thread."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from app.core.turns import Turn
from app.matriz.contract import ReasoningDelta, TextDelta
from app.matriz.nodes import Answer, reason
from app.matriz.providers import builtin
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome

NOTES = "Mission notes. " * 5000 + "\nThe launch code is 1234.\n"


async def answer(history: Sequence[Turn], monkeypatch: pytest.MonkeyPatch
                 ) -> tuple[str, str, set[int]]:
    threads: set[int] = set()

    def recorded(question: str, turns: Sequence[Turn], sources: object = None) -> Answer:
        threads.add(threading.get_ident())
        return reason(question, turns)

    monkeypatch.setattr(builtin, "reason", recorded)
    provider = builtin.BuiltinProvider(context_window=128_000)
    outcome = ThoughtOutcome()
    events = [e async for e in provider.stream(
        ThoughtInput("lukhas-matriz", None, tuple(history), "What is the launch code?"),
        outcome)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    summary = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert outcome.node == "recall"
    return text, summary, threads


async def test_a_long_history_is_reasoned_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    short = [Turn("user", "The launch code is 1234.", "notes.txt", file="notes.txt")]
    text, _, threads = await answer(short, monkeypatch)
    assert threads == {loop_thread}
    assert text.startswith("The launch code is 1234. The file notes.txt says:")
    long = [Turn("user", NOTES, "notes.txt", file="notes.txt")]
    text, summary, threads = await answer(long, monkeypatch)
    assert loop_thread not in threads and len(threads) == 1
    assert text == 'The launch code is 1234. The file notes.txt says: ' \
        '"The launch code is 1234." [notes.txt]'
    assert summary.startswith("arithmetic: no arithmetic expression")


@pytest.mark.parametrize("top", [None, 2])
async def test_an_answer_given_whole_comes_in_one_piece_a_kind(top: int | None) -> None:
    # Nobody watches it come: the summary in one delta and the text in another, the same
    # texts as word by word; with logprobs asked for, the text word by word still (their
    # tokens are those of the pieces).
    provider = builtin.BuiltinProvider(context_window=128_000)
    history = (Turn("user", "My name is Ada Lovelace.", "message 1"),)

    async def run(whole: bool) -> list[ReasoningDelta | TextDelta]:
        inp = ThoughtInput("lukhas-matriz", None, history, "What is my name?",
                           top_logprobs=top, whole=whole)
        return [e async for e in provider.stream(inp, ThoughtOutcome())]  # type: ignore[misc]

    pieces, whole = await run(False), await run(True)
    assert len(pieces) > 4
    for kind in (ReasoningDelta, TextDelta):
        assert ("".join(e.text for e in whole if isinstance(e, kind))
                == "".join(e.text for e in pieces if isinstance(e, kind)))
    if top is None:
        assert [type(e) for e in whole] == [ReasoningDelta, TextDelta]
    else:
        assert (sum(isinstance(e, TextDelta) for e in whole)
                == sum(isinstance(e, TextDelta) for e in pieces) > 4)
