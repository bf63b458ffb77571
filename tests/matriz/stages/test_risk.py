"""Risk: logprobs follow the text it holds back, and never tell what it redacted."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.guardian.engine import Guardian
from app.guardian.reload import load_policy
from app.identity.base import Identity
from app.matriz.contract import Event, RunContext, TextDelta
from app.matriz.stages.risk import RiskStage
from app.matriz.tokenizer import certain_logprobs


async def _through_risk(pieces: list[str]) -> list[TextDelta]:
    """`pieces` as an upstream's deltas, each with its tokens' logprobs, after Risk."""
    async def upstream() -> AsyncIterator[Event]:
        for piece in pieces:
            yield TextDelta(piece, certain_logprobs(piece, 0))

    who = Identity(subject="s", scopes=frozenset(), tier="T3", kind="api_key")
    ctx = RunContext(identity=who, model="m", question="q", history=[])
    out = [e async for e in RiskStage(Guardian(load_policy(), None)).stream(ctx, upstream())]
    assert all(isinstance(e, TextDelta) for e in out)
    return [e for e in out if isinstance(e, TextDelta)]


async def test_each_piece_goes_out_with_the_tokens_it_holds_whole() -> None:
    pieces = ["Hel", "lo wor", "ld, how", " are", " you?"]
    out = await _through_risk(pieces)
    assert "".join(e.text for e in out) == "".join(pieces)
    # The tokens never run ahead of the text sent: one cut by the hold (" wor" of "Hello
    # |wor") goes with the piece that completes it; in the end every token went out.
    sent = said = ""
    for e in out:
        sent += e.text
        said += "".join(lp["token"] for lp in e.logprobs or ())
        assert sent.startswith(said)
    assert said == sent
    assert sum(len(e.logprobs or ()) for e in out) == sum(
        len(certain_logprobs(p, 0)) for p in pieces)


async def test_a_redacted_piece_goes_without_its_tokens() -> None:
    secret = "sk-" + "a1b2c3d4" * 3
    before = "Here is the configuration you asked for, every value filled in: my key is "
    after = (" and that is all you need to know about this setup, nothing more to add here"
             " at all, so go ahead.")
    full = before + secret + after
    out = await _through_risk([full[i:i + 7] for i in range(0, len(full), 7)])
    text = "".join(e.text for e in out)
    assert secret not in text and "[redacted]" in text
    tokens = "".join(lp["token"] for e in out for lp in e.logprobs or ())
    assert "a1b2" not in tokens
    assert tokens.startswith("Here is the") and tokens.endswith("ahead.")


async def test_the_guardian_output_rules_apply_across_deltas() -> None:
    # The card number is cut by the deltas: it is still seen whole and redacted; an e-mail
    # address (logged only) goes out as it was.
    pieces = ["Pay with 41111111", "11111111 or mail ", "ada@example.org today."]
    out = await _through_risk(pieces)
    text = "".join(e.text for e in out)
    assert "4111" not in text and "[pii]" in text
    assert text.startswith("Pay with ") and text.endswith("or mail ada@example.org today.")
