"""The holdback window: however an answer is cut into deltas, no piece of a secret reaches the
client, what leaves is what the same answer gives in one piece, and a block ends the answer
before any of the blocked text."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.guardian.clean_texts import OUTPUT
from app.guardian.compiled import CompiledRule, Policy
from app.guardian.decision import Direction, Kind
from app.guardian.engine import Guardian
from app.guardian.reload import load_policy
from app.identity.base import Identity
from app.matriz.contract import (
    Event,
    ReasoningDelta,
    RefusalDelta,
    RunContext,
    TextDelta,
    ToolCallDelta,
)
from app.matriz.stages.risk import STEP, RiskStage

GUARDIAN = Guardian(load_policy(), None)
KEY = "sk-proj-" + "Zq8xW3vN5tR7yL2k" * 2
TOKEN = "Bearer " + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
PRIVATE = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"
WORDS = ("the", "service", "answers", "with", "care", "and", "a", "long", "sentence", "of",
         "plain", "words", "around", "what", "matters", "here", "today")


def _prose(draw: random.Random, n: int) -> str:
    return " ".join(draw.choice(WORDS) for _ in range(n))


def _split(text: str, draw: random.Random) -> list[str]:
    pieces, at = [], 0
    while at < len(text):
        step = draw.choice((1, 1, 2, 3, 5, 8, 13, 40))
        pieces.append(text[at:at + step])
        at += step
    return pieces


async def _stream(events: list[Event], *,
                  streamed: bool = True) -> tuple[list[Event], RunContext]:
    """What the Risk stage lets out of `events`, and the run."""
    async def upstream() -> AsyncIterator[Event]:
        for event in events:
            yield event

    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    ctx = RunContext(identity=who, model="m", question="q", history=[], streamed=streamed)
    return [e async for e in RiskStage(GUARDIAN).stream(ctx, upstream())], ctx


class _Spy:
    """What the Risk stage records of each answer (its gate, on the holdback's path; what
    it counts, on every path), and how many screens the policy makes, while a test runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gates: list[Any] = []
        self.counted: list[tuple[str, str, bool]] = []  # answer, action, flagged
        self.screens = 0
        self.screened: list[str] = []  # the texts screened
        record, count, screen = RiskStage._record, RiskStage._counted, Policy.candidates

        async def recorded(stage: RiskStage, ctx: RunContext, gate: Any) -> None:
            self.gates.append(gate)
            await record(stage, ctx, gate)

        def counted(stage: RiskStage, ctx: RunContext, policy: Policy, answer: str,
                    action: Any, flagged: bool) -> Any:
            self.counted.append((answer, action, flagged))
            return count(stage, ctx, policy, answer, action, flagged)

        def screened(policy: Policy, direction: Direction, kind: Kind,
                     text: str) -> list[CompiledRule]:
            self.screens += 1
            self.screened.append(text)
            return screen(policy, direction, kind, text)

        monkeypatch.setattr(RiskStage, "_record", recorded)
        monkeypatch.setattr(RiskStage, "_counted", counted)
        monkeypatch.setattr(Policy, "candidates", screened)


async def _run(pieces: list[str], *, streamed: bool = True) -> tuple[list[str], RunContext]:
    out, ctx = await _stream([TextDelta(piece) for piece in pieces], streamed=streamed)
    return [e.text for e in out if isinstance(e, TextDelta)], ctx


def _pieces_of(secret: str, n: int = 8) -> list[str]:
    """Every run of `n` characters of the secret's random part."""
    body = secret.split("-", 2)[-1] if secret.startswith("sk-") else secret[7:]
    return [body[i:i + n] for i in range(len(body) - n + 1)]


@pytest.mark.parametrize("seed", range(40))
async def test_no_piece_of_a_secret_leaks_however_it_is_split(seed: int) -> None:
    draw = random.Random(seed)
    text = (f"{_prose(draw, draw.randint(0, 30))} {KEY} {_prose(draw, draw.randint(1, 20))}"
            f"\n{TOKEN}\n{_prose(draw, draw.randint(0, 30))}")
    whole, whole_ctx = await _run([text])
    streamed, ctx = await _run(_split(text, draw))
    sent = "".join(streamed)
    assert sent == "".join(whole), "streamed or not, the same text leaves"
    assert ctx.redactions == whole_ctx.redactions == 2
    assert ctx.finish_reason == "stop"
    for secret in (KEY, TOKEN):
        for piece in _pieces_of(secret):
            assert piece not in sent, f"{piece!r} of a secret reached the client"
    # Everything around the secrets went out, in order.
    assert [w for w in sent.split() if w in WORDS] == [w for w in text.split() if w in WORDS]


@pytest.mark.parametrize("seed", range(20))
async def test_a_block_ends_the_answer_before_any_of_it(seed: int) -> None:
    draw = random.Random(1000 + seed)
    before = _prose(draw, draw.randint(0, 40))
    text = f"{before}\n{PRIVATE}\n{_prose(draw, 30)}"
    for streamed in (True, False):
        pieces, ctx = await _run(_split(text, draw), streamed=streamed)
        sent = "".join(pieces)
        assert ctx.finish_reason == "content_filter"
        assert "-----BEGIN" not in sent and "MIIE" not in sent and "PRIVATE" not in sent
        # What came before the match leaves, checked; nothing of it or after it.
        assert sent == f"{before}\n"


@pytest.mark.parametrize("seed", range(20))
async def test_an_answer_given_whole_is_scanned_once_a_channel(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nobody sees it as it comes: held whole, one screen of both, a scan for the reasoning
    # and one for the text, and what leaves is what the stream gives.
    draw = random.Random(5000 + seed)
    thinking = f"{_prose(draw, draw.randint(0, 30))} {TOKEN} {_prose(draw, 10)}"
    text = f"{_prose(draw, draw.randint(0, 60))} {KEY} {_prose(draw, draw.randint(1, 60))}"
    events: list[Event] = [*map(ReasoningDelta, _split(thinking, draw)),
                           *map(TextDelta, _split(text, draw))]
    spy = _Spy(monkeypatch)
    whole, whole_ctx = await _stream(events, streamed=False)
    assert spy.screens == 1, "one screen of the reasoning and the text together"
    streamed, ctx = await _stream(events)
    assert [type(e) for e in whole] == [ReasoningDelta, TextDelta]
    assert spy.gates[0].scans == 2 < spy.gates[1].scans
    assert [c[1] for c in spy.counted] == ["redact", "redact"]

    def sent(out: list[Event], kind: type) -> str:
        return "".join(e.text for e in out if isinstance(e, kind))  # type: ignore[union-attr]

    for kind in (ReasoningDelta, TextDelta):
        assert sent(whole, kind) == sent(streamed, kind)
    assert whole_ctx.redactions == ctx.redactions == 2


async def test_a_clean_answer_given_whole_leaves_as_it_came(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each kind of text in one piece and nothing found: the very events leave, in their
    # order (a call where it came), after one screen of all the texts, recorded as allowed;
    # what leaves is what the holdback's path gives the same answer in pieces.
    draw = random.Random(11)
    thinking, text = _prose(draw, 30), f"{_prose(draw, 40)} (call 2 of 3 on 4 May)"
    call = ToolCallDelta(0, "call_1", "lookup", '{"q": "rainbow"}')
    events: list[Event] = [ReasoningDelta(thinking), call, TextDelta(text, [])]
    spy = _Spy(monkeypatch)
    whole, ctx = await _stream(events, streamed=False)
    assert whole == events and all(a is b for a, b in zip(whole, events, strict=True))
    assert spy.screens == 1 and ctx.finish_reason == "stop" and ctx.redactions == 0
    assert spy.gates == [] and spy.counted == [(text, "allow", False)]
    pieces: list[Event] = [*map(ReasoningDelta, _split(thinking, draw)), call,
                           *map(TextDelta, _split(text, draw))]
    held, _ = await _stream(pieces, streamed=False)  # in pieces: the holdback's path
    assert [type(e) for e in held] == [ReasoningDelta, ToolCallDelta, TextDelta]
    assert [getattr(e, "text", None) for e in held] == [thinking, None, text]


async def test_a_clean_answer_given_whole_again_is_not_screened_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Texts of a whole answer found clean are kept (app/guardian/clean_texts.py): the same
    # answer again leaves without a screen, counted as allowed all the same; beside a kept
    # text, a new one is screened alone; a text with a finding is never kept.
    draw = random.Random(12)
    thinking, text = _prose(draw, 25), f"{_prose(draw, 35)} (the first answer)"
    events: list[Event] = [ReasoningDelta(thinking), TextDelta(text)]
    spy = _Spy(monkeypatch)
    for _ in range(2):
        whole, ctx = await _stream(events, streamed=False)
        assert whole == events and ctx.finish_reason == "stop" and ctx.redactions == 0
    assert spy.screens == 1 and spy.counted == [(text, "allow", False)] * 2
    other = f"{_prose(draw, 20)} (another answer)"
    await _stream([ReasoningDelta(thinking), TextDelta(other)], streamed=False)
    assert spy.screened[1:] == [other]
    flagged = f"{_prose(draw, 10)} the key is {KEY}"
    for _ in range(2):
        out, ctx = await _stream([ReasoningDelta(thinking), TextDelta(flagged)],
                                 streamed=False)
        assert ctx.redactions == 1 and KEY not in out[1].text  # type: ignore[union-attr]
    assert not GUARDIAN.clean.holds(GUARDIAN.policy, OUTPUT, flagged)
    streamed, ctx = await _stream([ReasoningDelta(thinking), TextDelta(text)])
    assert len(spy.gates) == 3 and ctx.finish_reason == "stop"  # the holdback, every time
    assert "".join(e.text for e in streamed) == thinking + text  # type: ignore[union-attr]


async def test_an_answer_given_whole_with_a_finding_is_screened_once() -> None:
    # A finding sends it down the holdback's path, with the screen already made.
    out, ctx = await _stream([ReasoningDelta("thinking it over"),
                              TextDelta(f"the key is {KEY} as asked")], streamed=False)
    assert [type(e) for e in out] == [ReasoningDelta, TextDelta]
    assert KEY not in out[1].text and ctx.redactions == 1  # type: ignore[union-attr]


async def test_an_answer_given_whole_that_fails_midway_fails_as_it_did() -> None:
    async def upstream() -> AsyncIterator[Event]:
        yield TextDelta("half an answer")
        raise ConnectionError("the upstream went away")

    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    ctx = RunContext(identity=who, model="m", question="q", history=[], streamed=False)
    out: list[Event] = []
    with pytest.raises(ConnectionError):
        async for event in RiskStage(GUARDIAN).stream(ctx, upstream()):
            out.append(event)
    assert out == []  # held whole, so nothing of it had left


async def test_text_without_a_match_is_released_before_the_answer_ends() -> None:
    text = _prose(random.Random(5), 80)
    released: list[str] = []

    async def upstream() -> AsyncIterator[Event]:
        for piece in _split(text, random.Random(6)):
            yield TextDelta(piece)

    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    ctx = RunContext(identity=who, model="m", question="q", history=[])
    async for event in RiskStage(GUARDIAN).stream(ctx, upstream()):
        assert isinstance(event, TextDelta)
        released.append(event.text)
    assert "".join(released) == text
    assert len(released) >= 3  # released as it came, not all at the end
    # Each piece leaves once the window and a step more are held (a delta is at most 40).
    assert all(0 < len(piece) <= STEP + 40 for piece in released[:-1])


async def _run_reasoning(pieces: list[str], answer: str) -> tuple[str, str, RunContext]:
    """A reasoning summary in `pieces`, then `answer` in one delta: (reasoning sent, answer
    sent, run)."""
    out, ctx = await _stream([*map(ReasoningDelta, pieces), TextDelta(answer)])
    kinds = [type(e) for e in out]
    assert kinds == sorted(kinds, key=lambda k: k is TextDelta), "the reasoning goes first"
    return ("".join(e.text for e in out if isinstance(e, ReasoningDelta)),
            "".join(e.text for e in out if isinstance(e, TextDelta)), ctx)


@pytest.mark.parametrize("seed", range(20))
async def test_no_piece_of_a_secret_leaks_from_the_reasoning_however_it_is_split(
        seed: int) -> None:
    # The reasoning summary is shown to the caller: it has its own window.
    draw = random.Random(2000 + seed)
    text = f"{_prose(draw, draw.randint(0, 30))} {KEY} {_prose(draw, draw.randint(1, 20))}"
    whole, _, whole_ctx = await _run_reasoning([text], "done")
    streamed, answer, ctx = await _run_reasoning(_split(text, draw), "done")
    assert streamed == whole and answer == "done"
    assert ctx.redactions == whole_ctx.redactions == 1
    for piece in _pieces_of(KEY):
        assert piece not in streamed, f"{piece!r} of a secret reached the client"


@pytest.mark.parametrize("seed", range(10))
async def test_a_block_in_the_reasoning_ends_the_answer_before_any_of_it(seed: int) -> None:
    draw = random.Random(3000 + seed)
    before = _prose(draw, draw.randint(0, 40))
    streamed, answer, ctx = await _run_reasoning(
        _split(f"{before}\n{PRIVATE}\n{_prose(draw, 30)}", draw), "the answer")
    assert ctx.finish_reason == "content_filter"
    assert "-----BEGIN" not in streamed and "MIIE" not in streamed
    assert answer == "", "nothing after a block"


@pytest.mark.parametrize("seed", range(10))
async def test_no_piece_of_a_secret_leaks_from_a_refusal_however_it_is_split(seed: int) -> None:
    draw = random.Random(4000 + seed)
    text = f"I cannot share {KEY} or anything like it. {_prose(draw, draw.randint(1, 20))}"

    async def refused(pieces: list[str]) -> tuple[str, RunContext]:
        out, ctx = await _stream([RefusalDelta(piece) for piece in pieces])
        return "".join(e.text for e in out if isinstance(e, RefusalDelta)), ctx

    whole, _ = await refused([text])
    streamed, ctx = await refused(_split(text, draw))
    assert streamed == whole and ctx.redactions == 1
    for piece in _pieces_of(KEY):
        assert piece not in streamed, f"{piece!r} of a secret reached the client"
