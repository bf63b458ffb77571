"""The `lukhas-matriz` reasoner: arithmetic, then recall, then (when the request searched
the caller's files) a quote from them, each validated; a message that asks nothing but tells
something is acknowledged; else "I don't know"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.turns import Turn
from app.matriz.nodes import arithmetic, documents, recall, statement, validation
from app.matriz.nodes.types import Answer, Calculation, Finding, Recollection

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
            value = float(calc.value) if calc.approximate and calc.value is not None \
                else calc.value
            return Answer(calc.text, tuple(summary), "arithmetic", (), Finding(
                value, calc.rendered, calc.expression))
        return _unknown(calc, None, summary)
    rec = recall.recall(question, history)
    summary += rec.notes
    if rec.status == "found":
        check = validation.validate_recollection(rec, history)
        summary.append(check.note)
        if check.ok:
            return Answer(rec.text, tuple(summary), "recall", (rec.source,), Finding(
                rec.value, rec.value, "", rec.topic, rec.quote, rec.source))
    found: documents.Quotation | None = None
    if sources is not None:
        found = documents.quote(question, sources)
        summary += found.notes
        if found.status == "found":
            check = documents.validate_quotation(found, sources)
            summary.append(check.note)
            if check.ok:
                cited = sources[found.source - 1].file_id
                return Answer(found.text, tuple(summary), "documents", (cited,),
                              Finding(quote=found.quote, source=cited))
    if rec.status == "not_asked" and found is None:
        told = _told(question, history)
        if told is not None:
            return Answer(told.text, (*summary, *told.notes), "statement", ())
    return _unknown(calc, rec, summary, found)


def _told(question: str, history: Sequence[Turn]) -> statement.Acknowledgment | None:
    """The acknowledgment of a message that tells something, or of files sent alone."""
    if question.strip():
        return statement.acknowledge(question)
    # The files of this request's last message come just before its (empty) question.
    attached: list[str] = []
    for turn in reversed(history):
        if turn.file is None or turn.at is not None:
            break
        attached.insert(0, turn.file)
    return statement.acknowledge_files(attached) if attached else None


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
    where = _where(rec)
    if rec.status == "not_asked":
        if not where:
            return "there is no earlier message from you in our conversation to recall from"
        return (f"it is not a question about something you told me (such as your name or where "
                f"you live), which is all I can recall from {where}")
    if rec.status == "found":
        # Found but the quote failed validation: do not repeat what could not be verified.
        return (f"I found a statement about {rec.topic} in {rec.source} but could not verify "
                "the quote, so I won't repeat it")
    if not where:
        return (f"there is no earlier message from you in our conversation that could tell me "
                f"about {rec.topic}")
    return f"I searched {where} for a statement about {rec.topic} but found nothing"


def _where(rec: Recollection) -> str:
    """Where recall looked, for the user; empty if there was nothing to look in. Only what
    came before the question counts, and recalled memories are not "our conversation"."""
    parts = []
    if rec.searched:
        parts.append(f"your {rec.searched} earlier message{'' if rec.searched == 1 else 's'} "
                     "in our conversation")
    if rec.files:
        plural = "s" if len(rec.files) > 1 else ""
        parts.append(f"the attached file{plural} {', '.join(rec.files)}")
    if rec.remembered:
        plural = "s" if rec.remembered > 1 else ""
        parts.append(f"{rec.remembered} related message{plural} of yours from our other "
                     "conversations")
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
