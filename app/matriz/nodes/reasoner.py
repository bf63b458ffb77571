"""The `lukhas-matriz` reasoner: arithmetic, then recall, then (when the request searched
the caller's files) a quote from them, each validated, else "I don't know"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.matriz.nodes import arithmetic, documents, recall, validation
from app.matriz.nodes.types import Answer, Calculation, Recollection, Turn

if TYPE_CHECKING:
    from app.matriz.retrieval import Source


def reason(question: str, history: Sequence[Turn],
           sources: Sequence[Source] | None = None) -> Answer:
    """Answer the latest user message from the earlier conversation and, with `sources`
    (what a file search found), from the caller's files, deterministically."""
    summary: list[str] = []
    calc = arithmetic.solve(question)
    summary += calc.notes
    if calc.status in ("ok", "undefined", "refused"):
        check = validation.validate_calculation(calc)
        summary.append(check.note)
        if check.ok:
            return Answer(calc.text, tuple(summary), "arithmetic", ())
        return _unknown(calc, None, summary)
    rec = recall.recall(question, history)
    summary += rec.notes
    if rec.status == "found":
        check = validation.validate_recollection(rec, history)
        summary.append(check.note)
        if check.ok:
            return Answer(rec.text, tuple(summary), "recall", (rec.source,))
    if sources is None:
        return _unknown(calc, rec, summary)
    found = documents.quote(question, sources)
    summary += found.notes
    if found.status == "found":
        check = documents.validate_quotation(found, sources)
        summary.append(check.note)
        if check.ok:
            return Answer(found.text, tuple(summary), "documents",
                          (sources[found.source - 1].file_id,))
    return _unknown(calc, rec, summary, found)


def _unknown(calc: Calculation, rec: Recollection | None, summary: list[str],
             found: documents.Quotation | None = None) -> Answer:
    """An honest "I don't know" that says what was considered."""
    if calc.status == "none":
        considered = "I looked for an arithmetic expression in your message and found none"
    elif calc.status == "unreadable":
        considered = (f'I found "{_clip(calc.found)}" in your message but could not read it '
                      "as an arithmetic expression")
    else:
        # Validation disagreed: giving the result anyway could mean giving a wrong one.
        considered = (f"I worked out {_clip(calc.expression or calc.found)} but an independent "
                      "re-check did not confirm the result, so I won't give it")
    said = f"{considered}." if rec is None else f"{considered}, and {_searched(rec)}."
    if found is not None:  # with a file search, what it found comes first
        said = f"{documents.searched(found)}. {said}"
    text = f"I don't know. {said}"
    summary.append("unknown: no node produced a validated answer, so I say I don't know")
    return Answer(text, tuple(summary), "unknown", ())


def _searched(rec: Recollection) -> str:
    """What the recall node searched, for the user."""
    turns = f"{rec.searched} earlier message{'' if rec.searched == 1 else 's'}"
    if rec.status == "not_asked":
        if rec.searched == 0:
            return "there is no earlier message from you in our conversation to recall from"
        return (f"it is not a question about something you told me (such as your name or where "
                f"you live), which is all I can recall from your {turns} in our conversation")
    if rec.status == "found":
        # Found but the quote failed validation: do not repeat what could not be verified.
        return (f"I found a statement about {rec.topic} in {rec.source} but could not verify "
                "the quote, so I won't repeat it")
    if rec.searched == 0:
        return (f"there is no earlier message from you in our conversation that could tell me "
                f"about {rec.topic}")
    return (f"I searched your {turns} in our conversation for a statement about {rec.topic} "
            "but found nothing")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
